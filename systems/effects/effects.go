package effects

import (
	"fmt"
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
}

// Hypervisor is the world resource naming the executor. A nil Executor is
// the simulated hypervisor of the harness: work completes in the tick that
// issues it, successfully.
type Hypervisor struct {
	Executor Executor
}

// System carries out allowed intents.
type System struct {
	hv      *Hypervisor
	mirror  *gpu.Mirror
	inputs  *ecs.Filter1[components.Input]
	allowed *ecs.Filter1[components.IntentEnvelope]
	guests  *ecs.Filter1[components.Guest]
	guest   *ecs.Map1[components.Guest]
	surface *ecs.Map1[components.Surface]
	events  []components.Input
}

// New returns the effects system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "effects",
		Purpose: "carry out allowed intents (present/hide now, hypervisor work through the executor), apply effect results and hypervisor events to guests",
		Reads:   []string{"IntentEnvelope(allowed)", "Input(effect, guest-event)", "Hypervisor"},
		Writes:  []string{"Guest", "Surface flags", "IntentEnvelope.Status"},
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
	s.guest = ecs.NewMap1[components.Guest](w.ECS)
	s.surface = ecs.NewMap1[components.Surface](w.ECS)
	s.mirror, err = gpu.MirrorOf(w.ECS, "effects")
	return err
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.events = s.events[:0]
	iq := s.inputs.Query()
	for iq.Next() {
		if in := iq.Get(); in.Kind == components.InputEffect || in.Kind == components.InputGuestEvent {
			s.events = append(s.events, *in)
		}
	}
	for i := range s.events {
		if s.events[i].Kind == components.InputEffect {
			s.complete(w, &s.events[i])
		} else {
			s.guestEvent(w, s.events[i].Text)
		}
	}
	q := s.allowed.Query()
	for q.Next() {
		if env := q.Get(); env.Status == components.IntentAllowed {
			s.carryOut(w, env)
		}
	}
}

// target is the guest of an envelope.
func (s *System) target(w *world.World, env *components.IntentEnvelope) (*components.Guest, bool) {
	e, ok := w.Resolve(env.Target)
	if !ok || !s.guest.HasAll(e) {
		return nil, false
	}
	return s.guest.Get(e), true
}

func (s *System) carryOut(w *world.World, env *components.IntentEnvelope) {
	g, ok := s.target(w, env)
	if !ok {
		s.finish(w, env, nil, false, "the target is not a guest")
		return
	}
	running := g.State == components.GuestHidden || g.State == components.GuestPresented
	switch env.Action {
	case components.ActionPresent, components.ActionHide:
		present := env.Action == components.ActionPresent
		if !running {
			s.finish(w, env, g, false, fmt.Sprintf("guest %s is %s, not running", g.ID, components.GuestStateNames[g.State]))
			return
		}
		s.setPresented(w, g, present)
		s.finish(w, env, g, true, components.GuestStateNames[g.State])
		return
	case components.ActionType, components.ActionPress, components.ActionMouse, components.ActionClick:
		// The gate checked presentation when it allowed the intent; the
		// guest may have been hidden since, in this same tick.
		if !g.Presented {
			s.finish(w, env, g, false, "guest "+g.ID+" is not presented")
			return
		}
	case components.ActionStart:
		if running {
			s.finish(w, env, g, true, "already running")
			return
		}
	}
	env.Status, env.Tick = components.IntentRunning, w.Clock.Tick
	if s.hv.Executor == nil {
		s.apply(w, env, g, "ok")
		return
	}
	s.hv.Executor.Execute(env.Source, env.Action, g.ID, env.Argument)
}

// complete applies an effect result to the envelope it answers.
func (s *System) complete(w *world.World, in *components.Input) {
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
		s.setState(w, g, components.GuestHidden)
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
	if e, ok := w.Resolve(g.Desktop); ok && s.surface.HasAll(e) {
		surf := s.surface.Get(e)
		if present {
			surf.Flags |= components.SurfaceVisible | components.SurfacePresented
		} else {
			surf.Flags &^= components.SurfaceVisible | components.SurfacePresented
		}
		s.mirror.Surfaces.Mark(e)
	}
	g.Presented = present
	if present {
		s.setState(w, g, components.GuestPresented)
	} else {
		s.setState(w, g, components.GuestHidden)
	}
}

func (s *System) setState(w *world.World, g *components.Guest, state components.GuestState) {
	if g.State == state {
		return
	}
	if g.Presented && state != components.GuestPresented && state != components.GuestHidden {
		s.setPresentedFlagsOff(w, g) // a stopped or paused guest is not on screen
	}
	g.State = state
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
