package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// Current is the world resource holding the policy in force.
type Current struct {
	Policy *Policy
}

// Install puts p in force in w, as the resource the gate reads.
func Install(w *ecs.World, p *Policy) *Current {
	cur := &Current{Policy: p}
	ecs.AddResource(w, cur)
	return cur
}

// Gate decides every pending IntentEnvelope once per tick, in the order
// the requests were received: deny (marked as a violation), confirm (a
// PendingConfirmation waits for "confirm", "cancel" or its deadline) or
// allow (left for effects). Replaced policies arrive as policy inputs and
// are swapped in whole, or refused whole; a policy swapped in acts on what
// it revokes. It keeps Guest.Permitted true to the policy in force, so that
// effects can check it again when they carry an intent out.
type Gate struct {
	cur       *Current
	inputs    *ecs.Filter1[components.Input]
	envelopes *ecs.Filter1[components.IntentEnvelope]
	pendings  *ecs.Filter1[components.PendingConfirmation]
	guestList *ecs.Filter1[components.Guest]
	guests    *ecs.Map1[components.Guest]
	envelope  *ecs.Map1[components.IntentEnvelope]
	pending   *ecs.Map1[components.PendingConfirmation]
	caps      *ecs.Map1[components.CPUCaps]
	cpus      *ecs.Map1[components.GuestCPUs]
	guestIDs  []ecs.Entity

	// permitsOf and permitsFor are the policy and the number of guests
	// Guest.Permitted was last computed for.
	permitsOf  *Policy
	permitsFor int

	reloads              []components.Input
	todo, done, resolved []ecs.Entity
	made                 []components.IntentEnvelope
	// projected is what this tick's allowed present and hide (and
	// suspend, shutdown) will have made of a guest's presentation when
	// effects carry them out, in the same order: a "type" received after
	// a "present" in the same tick is decided as if the guest were shown.
	// Effects check again; this only keeps the answers of pipelined
	// requests from contradicting each other.
	projected []presentation
	// waitingNow counts the confirmations waiting, bounded by
	// MaxPendingConfirmations.
	waitingNow int
}

// presentation is a guest's projected presentation for this tick.
type presentation struct {
	guest     ecs.Entity
	presented bool
}

// MaxPendingConfirmations bounds the requests waiting for confirmation at
// once, across all clients: each costs the tick work until it is answered
// or expires, so a flood of them is refused, not queued.
const MaxPendingConfirmations = 256

// NewGate returns the gate system.
func NewGate() *Gate { return &Gate{} }

// Describe implements world.System.
func (g *Gate) Describe() world.Description {
	return world.Description{
		Name:    "policy",
		Purpose: "decide every pending intent in request order (allow, deny with a violation marker, or ask for confirmation); swap in reloaded policies and act on what they revoke; expire confirmations",
		Reads:   []string{"Input(policy)", "Guest", "policy.Current", "Clock"},
		Writes:  []string{"IntentEnvelope.Status", "PendingConfirmation", "Guest.Permitted", "policy.Current"},
	}
}

// Init implements world.System.
func (g *Gate) Init(w *world.World) error {
	g.cur = ecs.GetResource[Current](w.ECS)
	if g.cur == nil {
		return fmt.Errorf("policy gate needs a policy: install one with policy.Install (a restricted one if none is valid)")
	}
	g.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	g.envelopes = ecs.NewFilter1[components.IntentEnvelope](w.ECS).Register()
	g.pendings = ecs.NewFilter1[components.PendingConfirmation](w.ECS).Register()
	g.guestList = ecs.NewFilter1[components.Guest](w.ECS).Register()
	g.guests = ecs.NewMap1[components.Guest](w.ECS)
	g.envelope = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	g.pending = ecs.NewMap1[components.PendingConfirmation](w.ECS)
	g.caps = ecs.NewMap1[components.CPUCaps](w.ECS)
	g.cpus = ecs.NewMap1[components.GuestCPUs](w.ECS)
	g.permit()
	return nil
}

// Run implements world.System.
func (g *Gate) Run(w *world.World) {
	g.made = g.made[:0]
	g.reload(w)
	g.permit()
	tick := w.Clock.Tick

	// Envelopes decided in earlier ticks and finished are dropped: their
	// markers were the record. Allowed ones stay for effects.
	g.done, g.todo = g.done[:0], g.todo[:0]
	q := g.envelopes.Query()
	for q.Next() {
		switch env := q.Get(); {
		case env.Status == components.IntentPending:
			g.todo = append(g.todo, q.Entity())
		case finished(env.Status) && env.Tick < tick:
			g.done = append(g.done, q.Entity())
		}
	}
	for _, e := range g.done {
		w.ECS.RemoveEntity(e)
	}

	g.expire(w)
	// Requests take effect in the order they were received, not in the
	// ECS's storage order (removals reorder tables).
	slices.SortFunc(g.todo, func(a, b ecs.Entity) int {
		return cmp.Or(cmp.Compare(g.envelope.Get(a).Source, g.envelope.Get(b).Source), cmp.Compare(a.ID(), b.ID()))
	})
	g.projected = g.projected[:0]
	pq := g.pendings.Query()
	g.waitingNow = pq.Count() - len(g.resolved) // expired or revoked: gone at the end of the tick
	pq.Close()
	for _, e := range g.todo {
		g.decide(w, e)
	}
	for i := range g.made {
		g.envelope.NewEntity(&g.made[i])
	}
	for _, e := range g.resolved {
		w.ECS.RemoveEntity(e)
	}
	g.resolved = g.resolved[:0]
}

func finished(s components.IntentStatus) bool {
	return s == components.IntentDenied || s == components.IntentDone || s == components.IntentFailed
}

// permit rewrites Guest.Permitted when the policy in force or the set of
// guests changed since it was last computed.
func (g *Gate) permit() {
	q := g.guestList.Query()
	n := q.Count()
	p := g.cur.Policy
	if p == g.permitsOf && n == g.permitsFor {
		q.Close()
		return
	}
	g.guestIDs = g.guestIDs[:0]
	for q.Next() {
		guest := q.Get()
		guest.Permitted = p.Permits(p.Guest(guest.ID))
		g.guestIDs = append(g.guestIDs, q.Entity())
	}
	g.permitsOf, g.permitsFor = p, n
	// The CPU caps are plain data on the guest, for the vcpu system (the
	// tasks' Allow mask) and effects (the check before a pin).
	for _, e := range g.guestIDs {
		caps := p.CPUCaps(g.guests.Get(e).ID)
		if g.caps.HasAll(e) {
			*g.caps.Get(e) = caps
		} else {
			g.caps.Add(e, &caps)
		}
	}
}

// tooManyVCPUs says why a start of guest must be refused under the
// policy's max_vcpus, or "" when it may start.
func (g *Gate) tooManyVCPUs(w *world.World, env *components.IntentEnvelope) string {
	if env.Action != components.ActionStart && env.Action != components.ActionResume {
		return ""
	}
	e, ok := w.Resolve(env.Target)
	if !ok || !g.caps.HasAll(e) || !g.cpus.HasAll(e) {
		return ""
	}
	caps, n := g.caps.Get(e), max(g.cpus.Get(e).VCPUs, 1)
	if caps.Count > 0 {
		n = min(n, caps.Count) // the domain is defined with no more
	}
	if caps.Max > 0 && n > caps.Max {
		return fmt.Sprintf("the registry gives it %d vCPUs, the policy allows at most %d", n, caps.Max)
	}
	return ""
}

// reload swaps in each policy fed this tick, in the order fed, or refuses
// it; one swapped in acts at once on what it revokes.
func (g *Gate) reload(w *world.World) {
	g.reloads = g.reloads[:0]
	q := g.inputs.Query()
	for q.Next() {
		if in := q.Get(); in.Kind == components.InputPolicy {
			g.reloads = append(g.reloads, *in)
		}
	}
	slices.SortFunc(g.reloads, func(a, b components.Input) int { return cmp.Compare(a.Seq, b.Seq) })
	for i := range g.reloads {
		in := &g.reloads[i]
		p, err := Load("reloaded policy", in.Text)
		if err != nil {
			w.Emit(marker.PolicyViolation("policy-invalid", "replacement refused, last good policy kept: "+err.Error()))
			continue
		}
		g.cur.Policy = p
		w.Emit(marker.Audit("policy-reloaded", p.Summary()))
		g.permit()
		g.revoke(w, in.Seq)
	}
}

// revoke acts on what the policy in force no longer allows: a presented
// guest that may not be presented any more is hidden (an allowed hide,
// carried out by effects in its place in the request order), and a
// request waiting for confirmation that the policy now denies is cancelled.
// Input kinds it revokes need nothing here: effects check Guest.Permitted
// before every injection and narrow the hypervisor's grants at once.
func (g *Gate) revoke(w *world.World, seq uint64) {
	p := g.cur.Policy
	q := g.guestList.Query()
	for q.Next() {
		guest := q.Get()
		if !guest.Presented || guest.Permitted&(1<<components.ActionPresent) != 0 {
			continue
		}
		d := p.Decide(p.Guest(guest.ID), components.ActionPresent, 1, true)
		w.Emit(marker.Audit("policy-revoked", fmt.Sprintf("guest=%s action=present rule=%s", guest.ID, p.Rule(d.Rule))))
		g.made = append(g.made, components.IntentEnvelope{
			Action: components.ActionHide, Target: world.Ref(q.Entity()), Confidence: 1,
			Status: components.IntentAllowed, Source: seq, Order: seq, Tick: w.Clock.Tick,
		})
	}
	pq := g.pendings.Query()
	for pq.Next() {
		e := pq.Entity()
		if g.isResolved(e) {
			continue
		}
		env, ok := g.envelopeOf(w, pq.Get().Envelope)
		if !ok {
			continue
		}
		idx, presented := g.guestOf(w, env)
		if d := p.Decide(idx, env.Action, env.Confidence, presented); d.Verdict == Deny {
			g.resolved = append(g.resolved, e)
			rule := p.Rule(d.Rule)
			env.Status, env.Detail, env.Tick = components.IntentDenied, "cancelled, the reloaded policy denies it (rule "+rule+")", w.Clock.Tick
			w.Emit(marker.PolicyViolation(rule, g.describe(w, env)))
		}
	}
}

// expire denies every confirmation whose deadline has passed.
func (g *Gate) expire(w *world.World) {
	q := g.pendings.Query()
	for q.Next() {
		if pc := q.Get(); pc.Expires <= w.Clock.Tick && !g.isResolved(q.Entity()) {
			g.resolved = append(g.resolved, q.Entity())
		}
	}
	for _, e := range g.resolved {
		pc := g.pending.Get(e)
		if env, ok := g.envelopeOf(w, pc.Envelope); ok && env.Status == components.IntentConfirm {
			env.Status, env.Detail = components.IntentDenied, "confirmation timed out"
			env.Tick = w.Clock.Tick
			w.Emit(marker.Audit("confirm-timeout", g.describe(w, env)))
		}
	}
}

func (g *Gate) envelopeOf(w *world.World, ref components.EntityRef) (*components.IntentEnvelope, bool) {
	e, ok := w.Resolve(ref)
	if !ok || !g.envelope.HasAll(e) {
		return nil, false
	}
	return g.envelope.Get(e), true
}

// target returns the guest an envelope acts on, if it is one.
func (g *Gate) target(w *world.World, env *components.IntentEnvelope) (*components.Guest, bool) {
	e, ok := w.Resolve(env.Target)
	if !ok || !g.guests.HasAll(e) {
		return nil, false
	}
	return g.guests.Get(e), true
}

// guestOf is what Decide needs to know of an envelope's guest: its index
// in the policy in force (-1 when none) and whether it is presented now.
func (g *Gate) guestOf(w *world.World, env *components.IntentEnvelope) (int, bool) {
	if guest, ok := g.target(w, env); ok {
		return g.cur.Policy.Guest(guest.ID), guest.Presented
	}
	return -1, false
}

func (g *Gate) describe(w *world.World, env *components.IntentEnvelope) string {
	id := "-"
	if guest, ok := g.target(w, env); ok {
		id = guest.ID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "action=%s guest=%s confidence=%.2f source=%d", components.IntentActionNames[env.Action], id, env.Confidence, env.Source)
	if env.Argument != "" {
		fmt.Fprintf(&b, " argument=%q", env.Argument)
	}
	return b.String()
}

// decide judges one pending envelope and records the outcome.
func (g *Gate) decide(w *world.World, e ecs.Entity) {
	env := g.envelope.Get(e)
	if env.Order == 0 {
		env.Order = env.Source
	}
	p := g.cur.Policy
	idx, presented := g.guestOf(w, env)
	guest, isGuest := w.Resolve(env.Target)
	if isGuest {
		presented = g.presentedNow(guest, presented)
	}
	d := p.Decide(idx, env.Action, env.Confidence, presented)
	rule := p.Rule(d.Rule)
	env.Tick = w.Clock.Tick
	if why := g.tooManyVCPUs(w, env); why != "" && d.Verdict != Deny {
		rule = "guests." + g.guests.Get(guest).ID + ".max_vcpus"
		env.Status, env.Detail = components.IntentDenied, "denied by policy rule "+rule+": "+why
		w.Emit(marker.PolicyViolation(rule, g.describe(w, env)+" "+why))
		return
	}
	if d.Verdict == Confirm && g.waitingNow >= MaxPendingConfirmations {
		env.Status = components.IntentDenied
		env.Detail = fmt.Sprintf("%d requests already wait for confirmation; answer or cancel some first (see: pending)", g.waitingNow)
		w.Emit(marker.Audit("confirm-refused", g.describe(w, env)))
		return
	}
	switch d.Verdict {
	case Deny:
		env.Status, env.Detail = components.IntentDenied, "denied by policy rule "+rule
		w.Emit(marker.PolicyViolation(rule, g.describe(w, env)))
	case Confirm:
		env.Status = components.IntentConfirm
		ticks := uint64(p.ConfirmTimeout()/w.Clock.Dt) + 1
		// Created now, not at the end of the tick: a confirm pipelined
		// right after the request, in the same tick, finds it.
		g.pending.NewEntity(&components.PendingConfirmation{Envelope: world.Ref(e), Rule: rule, Requested: w.Clock.Tick, Expires: w.Clock.Tick + ticks})
		g.waitingNow++
		// The detail is the marker's, so that the notice the requesting
		// client gets is the same line the marker stream has.
		env = g.envelope.Get(e)
		env.Detail = fmt.Sprintf("%s rule=%s expires=%d", g.describe(w, env), rule, w.Clock.Tick+ticks)
		w.Emit(marker.Audit("policy-confirm", env.Detail))
	case Allow:
		if env.Action == components.ActionConfirm || env.Action == components.ActionCancel {
			g.answer(w, env)
			return
		}
		env.Status = components.IntentAllowed
		w.Emit(marker.Audit("policy-allow", fmt.Sprintf("%s rule=%s", g.describe(w, env), rule)))
		if isGuest {
			g.project(guest, env.Action)
		}
	}
}

// presentedNow is a guest's presentation as this tick's requests decided
// so far leave it, or now (the Guest component) if none touched it.
func (g *Gate) presentedNow(guest ecs.Entity, now bool) bool {
	for _, p := range g.projected {
		if p.guest == guest {
			now = p.presented
		}
	}
	return now
}

// project records what an allowed action will make of the guest's
// presentation once effects carry it out.
func (g *Gate) project(guest ecs.Entity, action components.IntentAction) {
	switch action {
	case components.ActionPresent:
		g.projected = append(g.projected, presentation{guest, true})
	case components.ActionHide, components.ActionSuspend, components.ActionShutdown:
		g.projected = append(g.projected, presentation{guest, false})
	}
}

// answer applies a confirm or cancel. With an id (its Argument) it
// resolves the request with that Source, whoever asked; without one, the
// latest request of the same client still waiting — never another
// client's by accident. A confirmation is a new decision: the request is
// judged again under the policy in force, at full confidence (the user
// has said it is meant), and carried out in the confirm's place in the
// request order.
func (g *Gate) answer(w *world.World, answer *components.IntentEnvelope) {
	verb := components.IntentActionNames[answer.Action]
	pcEntity, pc, env, ok := g.waiting(w, answer)
	if !ok {
		why := "nothing of this client's is waiting for confirmation (see: pending)"
		if answer.Argument != "" {
			why = "no request " + answer.Argument + " is waiting for confirmation (see: pending)"
		}
		answer.Status, answer.Detail = components.IntentFailed, why
		w.Emit(marker.Audit("confirm-none", verb+": "+why))
		return
	}
	g.resolved = append(g.resolved, pcEntity)
	what := fmt.Sprintf("%d (%s)", env.Source, g.summary(w, env))
	env.Tick = w.Clock.Tick
	if answer.Action == components.ActionCancel {
		env.Status, env.Detail = components.IntentDenied, "cancelled by the user"
		w.Emit(marker.Audit("cancelled", g.describe(w, env)))
		answer.Status, answer.Detail = components.IntentDone, "cancelled "+what
		return
	}
	p := g.cur.Policy
	idx, presented := g.guestOf(w, env)
	if guest, ok := w.Resolve(env.Target); ok {
		presented = g.presentedNow(guest, presented)
	}
	d := p.Decide(idx, env.Action, 1, presented)
	if d.Verdict == Deny {
		rule := p.Rule(d.Rule)
		env.Status, env.Detail = components.IntentDenied, "denied by policy rule "+rule
		w.Emit(marker.PolicyViolation(rule, g.describe(w, env)))
		answer.Status, answer.Detail = components.IntentFailed, what+" is denied by policy rule "+rule+" now"
		return
	}
	env.Status, env.Order = components.IntentAllowed, answer.Source
	if guest, ok := w.Resolve(env.Target); ok {
		g.project(guest, env.Action)
	}
	w.Emit(marker.Audit("confirmed", fmt.Sprintf("%s rule=%s", g.describe(w, env), pc.Rule)))
	answer.Status, answer.Detail = components.IntentDone, "confirmed "+what
}

// waiting finds the confirmation an answer resolves.
func (g *Gate) waiting(w *world.World, answer *components.IntentEnvelope) (ecs.Entity, *components.PendingConfirmation, *components.IntentEnvelope, bool) {
	var id uint64
	named := answer.Argument != ""
	if named {
		n, err := strconv.ParseUint(answer.Argument, 10, 64)
		if err != nil {
			return ecs.Entity{}, nil, nil, false
		}
		id = n
	}
	var best ecs.Entity
	var bestPC *components.PendingConfirmation
	var bestEnv *components.IntentEnvelope
	q := g.pendings.Query()
	for q.Next() {
		pc, e := q.Get(), q.Entity()
		if g.isResolved(e) {
			continue
		}
		env, ok := g.envelopeOf(w, pc.Envelope)
		if !ok || env.Status != components.IntentConfirm {
			continue
		}
		match := env.Source == id
		if !named {
			match = env.Client == answer.Client && (bestEnv == nil || env.Source > bestEnv.Source)
		}
		if match {
			best, bestPC, bestEnv = e, pc, env
		}
	}
	return best, bestPC, bestEnv, bestEnv != nil
}

// summary names what an envelope asks: "shutdown linux".
func (g *Gate) summary(w *world.World, env *components.IntentEnvelope) string {
	s := components.IntentActionNames[env.Action]
	if guest, ok := g.target(w, env); ok {
		s += " " + guest.ID
	}
	if env.Argument != "" {
		s += " " + env.Argument
	}
	return s
}

func (g *Gate) isResolved(e ecs.Entity) bool {
	return slices.Contains(g.resolved, e)
}
