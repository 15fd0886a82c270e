package effects

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// Executor runs hypervisor work off the tick and reports each result as an
// effect input (Device = the envelope's Source, Text = "ok" or "err: …").
type Executor interface {
	Execute(source uint64, action components.IntentAction, vm, argument string)
	// Grant says what may be done to vm from now on: the actions the
	// policy in force permits, input kinds only while it is presented. An
	// executor checks it at the moment it carries a job out, so work queued
	// before a hide or a revoking reload is refused, not done. It is called
	// on the tick and must not block.
	Grant(vm string, actions components.ActionSet)
}

// Hypervisor is the world resource naming the executor. A nil Executor is
// the simulated hypervisor of the harness: work completes in the tick that
// issues it, successfully.
type Hypervisor struct {
	Executor Executor
}

// System carries out allowed intents.
type System struct {
	hv       *Hypervisor
	mirror   *gpu.Mirror
	inputs   *ecs.Filter1[components.Input]
	allowed  *ecs.Filter1[components.IntentEnvelope]
	guests   *ecs.Filter1[components.Guest]
	pendings *ecs.Filter1[components.PendingConfirmation]
	guest    *ecs.Map1[components.Guest]
	envelope *ecs.Map1[components.IntentEnvelope]
	surface  *ecs.Map1[components.Surface]
	events   []components.Input
	work     []work
	// granted is what the executor was last told may be done to each guest.
	granted map[string]components.ActionSet
	pin     pinner
}

// work is one thing to carry out this tick, in request order: an event
// (an effect result or a hypervisor event, by its input's Seq) or an
// allowed envelope (by its Order).
type work struct {
	order uint64
	event int        // index in events, or -1
	env   ecs.Entity // when event is -1
}

// New returns the effects system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "effects",
		Purpose: "carry out allowed intents in request order, each checked again against the guest's state and the policy in force (present/hide now, hypervisor work through the executor); answer status and pending in their place; apply effect results and hypervisor events to guests",
		Reads:   []string{"IntentEnvelope(allowed)", "Input(effect, guest-event)", "Guest.Permitted", "PendingConfirmation", "Hypervisor", "VCPU", "Placement", "FabricNode", "CPUCaps"},
		Writes:  []string{"Guest", "Surface flags", "IntentEnvelope.Status", "Executor grants", "Pinning (vCPU pins issued and applied)"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.hv = ecs.GetResource[Hypervisor](w.ECS)
	if s.hv == nil {
		return fmt.Errorf("effects needs a hypervisor: add an effects.Hypervisor resource (nil Executor simulates one)")
	}
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.allowed = ecs.NewFilter1[components.IntentEnvelope](w.ECS).Register()
	s.guests = ecs.NewFilter1[components.Guest](w.ECS).Register()
	s.pendings = ecs.NewFilter1[components.PendingConfirmation](w.ECS).Register()
	s.guest = ecs.NewMap1[components.Guest](w.ECS)
	s.envelope = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	s.surface = ecs.NewMap1[components.Surface](w.ECS)
	s.granted = map[string]components.ActionSet{}
	s.pin.init(w)
	s.mirror, err = gpu.MirrorOf(w.ECS, "effects")
	return err
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	// A reload the gate swapped in this tick narrows what queued input may
	// still reach a guest before anything else happens.
	s.syncGrants()
	s.events, s.work = s.events[:0], s.work[:0]
	iq := s.inputs.Query()
	for iq.Next() {
		if in := iq.Get(); in.Kind == components.InputEffect || in.Kind == components.InputGuestEvent {
			s.work = append(s.work, work{order: in.Seq, event: len(s.events)})
			s.events = append(s.events, *in)
		}
	}
	q := s.allowed.Query()
	for q.Next() {
		if env := q.Get(); env.Status == components.IntentAllowed {
			s.work = append(s.work, work{order: env.Order, event: -1, env: q.Entity()})
		}
	}
	// In the order received, whatever the ECS's storage order: a hide
	// requested before a type is carried out before it.
	slices.SortStableFunc(s.work, func(a, b work) int { return cmp.Compare(a.order, b.order) })
	for _, item := range s.work {
		switch {
		case item.event < 0:
			s.carryOut(w, s.envelope.Get(item.env))
		case s.events[item.event].Kind == components.InputEffect:
			s.complete(w, &s.events[item.event])
		default:
			s.guestEvent(w, s.events[item.event].Text)
		}
	}
	// Placements the scheduler made last tick reach the hypervisor.
	s.pins(w)
}

// syncGrants tells the executor what each guest may receive now, where
// that changed.
func (s *System) syncGrants() {
	if s.hv.Executor == nil {
		return
	}
	q := s.guests.Query()
	for q.Next() {
		s.grant(q.Get())
	}
}

func (s *System) grant(g *components.Guest) {
	if s.hv.Executor == nil {
		return
	}
	actions := g.Permitted &^ components.InputActions
	if g.Presented && g.State == components.GuestPresented {
		actions = g.Permitted
	}
	if old, ok := s.granted[g.ID]; ok && old == actions {
		return
	}
	s.granted[g.ID] = actions
	s.hv.Executor.Grant(g.ID, actions)
}

// target is the guest of an envelope.
func (s *System) target(w *world.World, env *components.IntentEnvelope) (*components.Guest, bool) {
	e, ok := w.Resolve(env.Target)
	if !ok || !s.guest.HasAll(e) {
		return nil, false
	}
	return s.guest.Get(e), true
}

// carryOut does what an allowed envelope asks, if the guest's state and
// the policy in force allow it at this moment — the gate decided it
// earlier in the tick, or ticks ago for a confirmed one, and requests
// carried out before it may have changed the guest.
func (s *System) carryOut(w *world.World, env *components.IntentEnvelope) {
	if env.Action > components.LastGoverned {
		s.read(w, env)
		return
	}
	g, ok := s.target(w, env)
	if !ok {
		s.finish(w, env, nil, false, "the target is not a guest")
		return
	}
	if g.Permitted&(1<<env.Action) == 0 {
		s.finish(w, env, g, false, fmt.Sprintf("the policy in force does not permit %s for guest %s now", components.IntentActionNames[env.Action], g.ID))
		return
	}
	step := Lifecycle(env.Action, g)
	switch {
	case step.Refuse != "":
		s.finish(w, env, g, false, step.Refuse)
		return
	case step.Noop != "":
		s.finish(w, env, g, true, step.Noop)
		return
	}
	if env.Action == components.ActionPresent || env.Action == components.ActionHide {
		s.setPresented(w, g, env.Action == components.ActionPresent)
		s.finish(w, env, g, true, components.GuestStateNames[g.State])
		return
	}
	env.Status, env.Tick = components.IntentRunning, w.Clock.Tick
	if s.hv.Executor == nil {
		s.apply(w, env, g, "ok")
		return
	}
	s.hv.Executor.Execute(env.Source, env.Action, g.ID, env.Argument)
}

// read answers a status or pending request with the control plane as the
// requests before it left it. Reads change nothing and are not audited.
func (s *System) read(w *world.World, env *components.IntentEnvelope) {
	env.Status, env.Tick = components.IntentDone, w.Clock.Tick
	if env.Action == components.ActionPending {
		env.Detail = s.pendingList(w)
		return
	}
	var parts []string
	q := s.guests.Query()
	for q.Next() {
		if g := q.Get(); env.Argument == "" || g.ID == env.Argument {
			part := g.ID + "=" + components.GuestStateNames[g.State]
			if g.Ready && (g.State == components.GuestHidden || g.State == components.GuestPresented) {
				part += ",ready" // rayos ctl wait guest=ID:ready needs it without a race
			}
			parts = append(parts, part)
		}
	}
	env.Detail = strings.Join(parts, " ")
	if env.Detail == "" {
		env.Status, env.Detail = components.IntentFailed, "no such vm "+env.Argument
	}
}

// MaxPendingListed bounds a pending answer; the rest is counted.
const MaxPendingListed = 64

// pendingList lists the requests waiting for confirmation, oldest first:
// "17 shutdown linux rule=guests.linux.confirm client=3 expires=3017, …",
// or "none". The id is what "confirm ID" and "cancel ID" take.
func (s *System) pendingList(w *world.World) string {
	type waiting struct {
		env *components.IntentEnvelope
		pc  *components.PendingConfirmation
	}
	var list []waiting
	q := s.pendings.Query()
	for q.Next() {
		pc := q.Get()
		if e, ok := w.Resolve(pc.Envelope); ok && s.envelope.HasAll(e) && s.envelope.Get(e).Status == components.IntentConfirm {
			list = append(list, waiting{s.envelope.Get(e), pc})
		}
	}
	if len(list) == 0 {
		return "none"
	}
	slices.SortFunc(list, func(a, b waiting) int { return cmp.Compare(a.env.Source, b.env.Source) })
	var items []string
	for _, it := range list[:min(len(list), MaxPendingListed)] {
		what := components.IntentActionNames[it.env.Action]
		if g, ok := s.target(w, it.env); ok {
			what += " " + g.ID
		}
		if it.env.Argument != "" {
			what += " " + it.env.Argument
		}
		items = append(items, fmt.Sprintf("%d %s rule=%s client=%d expires=%d", it.env.Source, what, it.pc.Rule, it.env.Client, it.pc.Expires))
	}
	if more := len(list) - MaxPendingListed; more > 0 {
		items = append(items, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(items, ", ")
}

// complete applies an effect result to the envelope it answers.
func (s *System) complete(w *world.World, in *components.Input) {
	if strings.HasPrefix(in.Text, "pin ") {
		s.pinResult(w, in.Text)
		return
	}
	q := s.allowed.Query()
	var env *components.IntentEnvelope
	for q.Next() {
		if e := q.Get(); e.Status == components.IntentRunning && uint32(e.Source) == in.Device {
			env = e
		}
	}
	if env == nil {
		w.Log().Warn("effects: result for no running intent", "source", in.Device, "result", in.Text)
		return
	}
	g, _ := s.target(w, env)
	s.apply(w, env, g, in.Text)
}

// apply finishes a hypervisor effect with its result.
func (s *System) apply(w *world.World, env *components.IntentEnvelope, g *components.Guest, result string) {
	if why, failed := strings.CutPrefix(result, "err: "); failed || result != "ok" {
		if !failed {
			why = result
		}
		s.finish(w, env, g, false, why)
		return
	}
	if g == nil {
		s.finish(w, env, g, true, "done")
		return
	}
	switch env.Action {
	case components.ActionStart, components.ActionResume:
		// Running already: the hypervisor's own event may have come first,
		// and the guest been presented since. Running is running.
		if g.State != components.GuestPresented {
			s.setState(w, g, components.GuestHidden)
		}
	case components.ActionShutdown:
		s.setState(w, g, components.GuestStopped)
	case components.ActionSuspend:
		s.setState(w, g, components.GuestSuspended)
	default: // input injection: the guest's state does not change
		s.finish(w, env, g, true, "delivered")
		return
	}
	s.finish(w, env, g, true, components.GuestStateNames[g.State])
}

// finish records an outcome, audited.
func (s *System) finish(w *world.World, env *components.IntentEnvelope, g *components.Guest, ok bool, detail string) {
	env.Tick, env.Detail = w.Clock.Tick, detail
	result := "ok"
	env.Status = components.IntentDone
	if !ok {
		env.Status, result = components.IntentFailed, "err"
	}
	id := "-"
	if g != nil {
		id = g.ID
	}
	w.Emit(marker.Audit(components.IntentActionNames[env.Action], fmt.Sprintf("guest=%s source=%d result=%s %s", id, env.Source, result, detail)))
}

// reconcile makes a guest agree with the state the hypervisor reports after
// a reconnect. A running guest keeps being presented if it was.
func (s *System) reconcile(w *world.World, g *components.Guest, state string) {
	for st, name := range components.GuestStateNames {
		if name != state {
			continue
		}
		target := components.GuestState(st)
		if target == components.GuestHidden && g.State == components.GuestPresented {
			return
		}
		s.setState(w, g, target)
		return
	}
}

// setPresented shows or hides a guest's desktop surface.
func (s *System) setPresented(w *world.World, g *components.Guest, present bool) {
	if !present {
		s.setPresentedFlagsOff(w, g)
		s.setState(w, g, components.GuestHidden)
		s.grant(g)
		return
	}
	if e, ok := w.Resolve(g.Desktop); ok && s.surface.HasAll(e) {
		s.surface.Get(e).Flags |= components.SurfaceVisible | components.SurfacePresented
		s.mirror.Surfaces.Mark(e)
	}
	g.Presented = true
	s.setState(w, g, components.GuestPresented)
}

func (s *System) setState(w *world.World, g *components.Guest, state components.GuestState) {
	if g.State == state {
		return
	}
	if g.Presented && state != components.GuestPresented {
		// Whatever moves a guest out of presented takes it off screen. A
		// stopped or paused guest comes back hidden when it runs again:
		// say so now (a plain hide says it with RAYOS_GUEST:<id>:hidden).
		s.setPresentedFlagsOff(w, g)
		if state != components.GuestHidden {
			w.Emit(marker.Audit("unpresent", "guest="+g.ID+" because="+components.GuestStateNames[state]))
		}
	}
	g.State = state
	if state != components.GuestHidden && state != components.GuestPresented && state != components.GuestSuspended {
		g.Ready = false // a guest that runs again signals readiness again
	}
	s.grant(g)
	w.Emit(marker.Guest(g.ID, components.GuestStateNames[state]))
}

func (s *System) setPresentedFlagsOff(w *world.World, g *components.Guest) {
	if e, ok := w.Resolve(g.Desktop); ok && s.surface.HasAll(e) {
		s.surface.Get(e).Flags &^= components.SurfaceVisible | components.SurfacePresented
		s.mirror.Surfaces.Mark(e)
	}
	g.Presented = false
}

// guestEvent applies a hypervisor event "<vm-id> <what>": a lifecycle
// event, a reconciled state "is:<state>", or, for id "-", the connection
// itself going away or being reconciled.
func (s *System) guestEvent(w *world.World, text string) {
	id, what, _ := strings.Cut(text, " ")
	if id == "-" {
		w.Emit(marker.Audit("hypervisor", what))
		return
	}
	q := s.guests.Query()
	for q.Next() {
		g := q.Get()
		if g.ID != id {
			continue
		}
		switch what {
		case "started", "resumed":
			if g.State != components.GuestPresented {
				s.setState(w, g, components.GuestHidden)
			}
		case "suspended":
			s.setState(w, g, components.GuestSuspended)
		case "stopped", "shutdown", "saved":
			s.setState(w, g, components.GuestStopped)
		case "crashed":
			s.setState(w, g, components.GuestCrashed)
		case "ready":
			if !g.Ready {
				g.Ready = true
				w.Emit(marker.Guest(g.ID, "ready"))
			}
		default:
			if state, ok := strings.CutPrefix(what, "is:"); ok {
				s.reconcile(w, g, state)
			}
			if result, ok := strings.CutPrefix(what, "restore:"); ok {
				w.Emit(marker.Audit("restore", "guest="+g.ID+" result="+result))
			}
		}
	}
}
