package policy

import (
	"fmt"
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

// Gate decides every pending IntentEnvelope once per tick: deny (marked as
// a violation), confirm (a PendingConfirmation waits for "confirm",
// "cancel" or its deadline) or allow (left for effects). Replaced policies
// arrive as policy inputs and are swapped in whole, or refused whole.
type Gate struct {
	cur       *Current
	inputs    *ecs.Filter1[components.Input]
	envelopes *ecs.Filter1[components.IntentEnvelope]
	pendings  *ecs.Filter1[components.PendingConfirmation]
	guests    *ecs.Map1[components.Guest]
	envelope  *ecs.Map1[components.IntentEnvelope]
	pending   *ecs.Map1[components.PendingConfirmation]

	todo, done, resolved []ecs.Entity
	asked                []components.PendingConfirmation
}

// NewGate returns the gate system.
func NewGate() *Gate { return &Gate{} }

// Describe implements world.System.
func (g *Gate) Describe() world.Description {
	return world.Description{
		Name:    "policy",
		Purpose: "decide every pending intent (allow, deny with a violation marker, or ask for confirmation); swap in reloaded policies; expire confirmations",
		Reads:   []string{"Input(policy)", "Guest", "policy.Current", "Clock"},
		Writes:  []string{"IntentEnvelope.Status", "PendingConfirmation", "policy.Current"},
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
	g.guests = ecs.NewMap1[components.Guest](w.ECS)
	g.envelope = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	g.pending = ecs.NewMap1[components.PendingConfirmation](w.ECS)
	return nil
}

// Run implements world.System.
func (g *Gate) Run(w *world.World) {
	g.reload(w)
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
	g.asked = g.asked[:0]
	for _, e := range g.todo {
		g.decide(w, e)
	}
	for i := range g.asked {
		g.pending.NewEntity(&g.asked[i])
	}
	for _, e := range g.resolved {
		w.ECS.RemoveEntity(e)
	}
	g.resolved = g.resolved[:0]
}

func finished(s components.IntentStatus) bool {
	return s == components.IntentDenied || s == components.IntentDone || s == components.IntentFailed
}

// reload swaps in each policy fed this tick, or refuses it.
func (g *Gate) reload(w *world.World) {
	q := g.inputs.Query()
	for q.Next() {
		in := q.Get()
		if in.Kind != components.InputPolicy {
			continue
		}
		p, err := Load("reloaded policy", in.Text)
		if err != nil {
			w.Emit(marker.PolicyViolation("policy-invalid", "replacement refused, last good policy kept: "+err.Error()))
			continue
		}
		g.cur.Policy = p
		w.Emit(marker.Audit("policy-reloaded", p.Summary()))
	}
}

// expire denies every confirmation whose deadline has passed.
func (g *Gate) expire(w *world.World) {
	q := g.pendings.Query()
	for q.Next() {
		if pc := q.Get(); pc.Expires <= w.Clock.Tick {
			g.resolved = append(g.resolved, q.Entity())
		}
	}
	for _, e := range g.resolved {
		pc := g.pending.Get(e)
		if env, ok := g.envelopeOf(w, pc.Envelope); ok {
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
	p := g.cur.Policy
	guestIndex, presented := -1, false
	if guest, ok := g.target(w, env); ok {
		guestIndex, presented = p.Guest(guest.ID), guest.Presented
	}
	d := p.Decide(guestIndex, env.Action, env.Confidence, presented)
	rule := p.Rule(d.Rule)
	env.Tick = w.Clock.Tick
	switch d.Verdict {
	case Deny:
		env.Status, env.Detail = components.IntentDenied, "denied by policy rule "+rule
		w.Emit(marker.PolicyViolation(rule, g.describe(w, env)))
	case Confirm:
		env.Status = components.IntentConfirm
		ticks := uint64(p.ConfirmTimeout()/w.Clock.Dt) + 1
		g.asked = append(g.asked, components.PendingConfirmation{Envelope: world.Ref(e), Rule: rule, Requested: w.Clock.Tick, Expires: w.Clock.Tick + ticks})
		w.Emit(marker.Audit("policy-confirm", fmt.Sprintf("%s rule=%s expires=%d", g.describe(w, env), rule, w.Clock.Tick+ticks)))
	case Allow:
		if env.Action == components.ActionConfirm || env.Action == components.ActionCancel {
			g.resolveConfirmation(w, env)
			return
		}
		env.Status = components.IntentAllowed
		w.Emit(marker.Audit("policy-allow", fmt.Sprintf("%s rule=%s", g.describe(w, env), rule)))
	}
}

// resolveConfirmation applies a confirm or cancel to the oldest pending
// confirmation not already resolved this tick.
func (g *Gate) resolveConfirmation(w *world.World, answer *components.IntentEnvelope) {
	answer.Status, answer.Detail = components.IntentDone, "resolved"
	var oldest ecs.Entity
	var oldestPC *components.PendingConfirmation
	q := g.pendings.Query()
	for q.Next() {
		pc, e := q.Get(), q.Entity()
		if g.isResolved(e) {
			continue
		}
		if oldestPC == nil || pc.Requested < oldestPC.Requested || pc.Requested == oldestPC.Requested && e.ID() < oldest.ID() {
			oldest, oldestPC = e, pc
		}
	}
	if oldestPC == nil {
		w.Emit(marker.Audit("confirm-none", components.IntentActionNames[answer.Action]+": nothing is waiting for confirmation"))
		return
	}
	g.resolved = append(g.resolved, oldest)
	env, ok := g.envelopeOf(w, oldestPC.Envelope)
	if !ok {
		return
	}
	env.Tick = w.Clock.Tick
	if answer.Action == components.ActionConfirm {
		env.Status = components.IntentAllowed
		w.Emit(marker.Audit("confirmed", fmt.Sprintf("%s rule=%s", g.describe(w, env), oldestPC.Rule)))
	} else {
		env.Status, env.Detail = components.IntentDenied, "cancelled by the user"
		w.Emit(marker.Audit("cancelled", g.describe(w, env)))
	}
}

func (g *Gate) isResolved(e ecs.Entity) bool {
	for _, r := range g.resolved {
		if r == e {
			return true
		}
	}
	return false
}
