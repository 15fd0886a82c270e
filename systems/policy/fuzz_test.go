package policy_test

import (
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/policy"
)

// Load must never panic; whatever it accepts decides every action for
// every guest without panicking, and denies input to a hidden guest.
func FuzzLoadPolicy(f *testing.F) {
	f.Add(policy.Default())
	f.Add(sample)
	f.Add("version = 1\n[guests.\"a.b\"]\nstart = true\nconfirm = [\"start\"]\n")
	f.Add("version = 1\n[intent]\nmin_confidence = 0.0\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := policy.Load("fuzz", text)
		if err != nil {
			return
		}
		for id := range p.File.Guests {
			g := p.Guest(id)
			for a := components.ActionStart; a <= components.ActionResume; a++ {
				d := p.Decide(g, a, 1, false)
				if a >= components.ActionType && a <= components.ActionClick && d.Verdict != policy.Deny {
					t.Fatalf("%s %s into a hidden guest: %s by %s", id, components.IntentActionNames[a], policy.VerdictNames[d.Verdict], p.Rule(d.Rule))
				}
				_ = p.Explain(id, a, 0.5, true)
			}
		}
	})
}
