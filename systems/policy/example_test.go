package policy_test

import (
	"fmt"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/policy"
)

// Load a policy, then ask it about one intent: the decision and its rule.
func Example() {
	p, err := policy.Load("rayos-policy.toml", `version = 1
[guests.linux]
start = true
present = true
inputs = ["type"]
`)
	if err != nil {
		panic(err)
	}
	linux := p.Guest("linux")
	d := p.Decide(linux, components.ActionType, 1, false)
	fmt.Println(policy.VerdictNames[d.Verdict], p.Rule(d.Rule))
	fmt.Println(p.Explain("linux", components.ActionType, 1, true))
	fmt.Println(p.Explain("linux", components.ActionPresent, 0.4, false))
	// Output:
	// deny input.presented
	// allow: rule guests.linux.inputs — "type" is in guests.linux.inputs
	// confirm: rule intent.min_confidence — the intent's confidence is below intent.min_confidence
}
