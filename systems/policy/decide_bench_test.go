package policy_test

import (
	"slices"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/policy"
)

// interpret is the baseline: the same decision taken straight from the
// decoded file, as a hand-written check without a compile step would.
func interpret(f *policy.File, guest string, action components.IntentAction, confidence float32, presented bool) (policy.Verdict, string) {
	g, ok := f.Guests[guest]
	if !ok {
		return policy.Deny, "default-deny"
	}
	name := components.IntentActionNames[action]
	key := name
	var allowed bool
	switch action {
	case components.ActionStart:
		allowed = g.Start
	case components.ActionPresent:
		allowed = g.Present
	case components.ActionShutdown:
		allowed = g.Shutdown
	case components.ActionType, components.ActionPress, components.ActionMouse, components.ActionClick:
		allowed, key = slices.Contains(g.Inputs, name), "inputs"
		if allowed && !presented {
			return policy.Deny, "input.presented"
		}
	}
	if !allowed {
		return policy.Deny, "guests." + guest + "." + key
	}
	if slices.Contains(g.Confirm, name) {
		return policy.Confirm, "guests." + guest + ".confirm"
	}
	min := policy.DefaultMinConfidence
	if f.Intent.MinConfidence != nil {
		min = *f.Intent.MinConfidence
	}
	if float64(confidence) < min {
		return policy.Confirm, "intent.min_confidence"
	}
	return policy.Allow, "guests." + guest + "." + key
}

var sinkVerdict policy.Verdict
var sinkRule string

// BenchmarkDecide: the compiled decision (guest lookup by id included) vs
// the interpreted baseline, for an input injection into a presented guest
// (the longest path: permission, presented, confidence).
func BenchmarkDecide(b *testing.B) {
	p, err := policy.Load("bench.toml", policy.Default())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("compiled/case=type-presented", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := p.Decide(p.Guest("linux"), components.ActionType, 0.95, true)
			sinkVerdict, sinkRule = d.Verdict, p.Rule(d.Rule)
		}
	})
	b.Run("interpreted/case=type-presented", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkVerdict, sinkRule = interpret(&p.File, "linux", components.ActionType, 0.95, true)
		}
	})
}

func TestInterpretedBaselineAgrees(t *testing.T) {
	p := mustLoad(t, policy.Default())
	for _, g := range []string{"linux", "windows", "mac"} {
		for _, a := range []components.IntentAction{components.ActionStart, components.ActionPresent, components.ActionShutdown, components.ActionType, components.ActionClick} {
			for _, presented := range []bool{false, true} {
				v, rule := interpret(&p.File, g, a, 0.95, presented)
				d := p.Decide(p.Guest(g), a, 0.95, presented)
				if v != d.Verdict || rule != p.Rule(d.Rule) {
					t.Errorf("%s %s presented=%v: baseline %s by %s, compiled %s by %s", g, components.IntentActionNames[a], presented,
						policy.VerdictNames[v], rule, policy.VerdictNames[d.Verdict], p.Rule(d.Rule))
				}
			}
		}
	}
}
