package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world/tomlpos"
)

// Verdict is what the policy says about one intent.
type Verdict uint8

// Verdicts. The zero value denies: a Decision that was never filled in is
// a denial.
const (
	Deny Verdict = iota
	Allow
	Confirm
)

// VerdictNames spells the verdicts in markers and explanations.
var VerdictNames = [...]string{Deny: "deny", Allow: "allow", Confirm: "confirm"}

// RuleID names a rule of a compiled policy; Policy.Rule spells it.
type RuleID uint16

// Decision is a verdict and the rule that decided it.
type Decision struct {
	Verdict Verdict
	Rule    RuleID
}

// Rules every policy has, whatever its file says.
const (
	RulePolicyInvalid  RuleID = iota // the policy is the restricted deny-all one
	RuleDefaultDeny                  // the guest is not in the policy
	RuleInputPresented               // input goes only to a presented guest
	RuleMinConfidence                // too unsure to act without asking
	RuleConfirmation                 // confirm / cancel are always accepted
	RuleHide                         // hiding a guest only reduces exposure
	RuleSuspend                      // pausing a guest only reduces activity
	fixedRules
)

var fixedRuleNames = [fixedRules]string{
	RulePolicyInvalid:  "policy-invalid",
	RuleDefaultDeny:    "default-deny",
	RuleInputPresented: "input.presented",
	RuleMinConfidence:  "intent.min_confidence",
	RuleConfirmation:   "confirmation",
	RuleHide:           "hide.always",
	RuleSuspend:        "suspend.always",
}

var fixedRuleWhy = [fixedRules]string{
	RulePolicyInvalid:  "the policy file is invalid or missing, so everything it governs is denied",
	RuleDefaultDeny:    "the guest has no [guests.<id>] table: deny by default",
	RuleInputPresented: "input is injected only into a guest that is presented",
	RuleMinConfidence:  "the intent's confidence is below intent.min_confidence",
	RuleConfirmation:   "confirm and cancel resolve a pending confirmation and are always accepted",
	RuleHide:           "hiding a guest only reduces what it can show",
	RuleSuspend:        "suspending a guest only reduces what it can do",
}

const numActions = int(components.ActionResume) + 1

// Policy is a compiled policy: per guest, a table from action to the
// decision its file gives, plus the rules that depend on the moment
// (presented state, confidence). Decide reads only these tables.
type Policy struct {
	// Name is where the policy came from (a path, "restricted", …).
	Name string
	// File is the validated source, for the supervisor (caps, network,
	// devices) and for explanations.
	File File
	// Restricted marks the deny-all policy used when no valid one exists.
	Restricted bool
	// Reason says why a restricted policy is in force.
	Reason string

	minConfidence  float32
	confirmTimeout time.Duration
	guestIndex     map[string]int
	guests         [][numActions]Decision
	rules          []string
	why            []string
}

// RestrictedPolicy returns the deny-all policy, with the reason it is in force.
func RestrictedPolicy(reason string) *Policy {
	p := newPolicy("restricted")
	p.Restricted, p.Reason = true, reason
	return p
}

func newPolicy(name string) *Policy {
	return &Policy{
		Name: name, minConfidence: DefaultMinConfidence, confirmTimeout: DefaultConfirmS * time.Second,
		guestIndex: map[string]int{}, rules: fixedRuleNames[:], why: fixedRuleWhy[:],
	}
}

func (p *Policy) rule(name, why string) RuleID {
	p.rules = append(p.rules, name)
	p.why = append(p.why, why)
	return RuleID(len(p.rules) - 1)
}

func compile(name string, f File) *Policy {
	p := newPolicy(name)
	p.rules, p.why = slices.Clone(p.rules), slices.Clone(p.why)
	p.File = f
	if f.Intent.MinConfidence != nil {
		p.minConfidence = float32(*f.Intent.MinConfidence)
	}
	if f.Intent.ConfirmTimeoutSeconds != nil {
		p.confirmTimeout = time.Duration(*f.Intent.ConfirmTimeoutSeconds) * time.Second
	}
	for _, id := range slices.Sorted(maps.Keys(f.Guests)) {
		g := f.Guests[id]
		var table [numActions]Decision
		permit := func(a components.IntentAction, key string, allowed bool) {
			name := "guests." + tomlpos.Key(id) + "." + key
			v, why := Deny, name+" is not true"
			if allowed {
				v, why = Allow, name+" = true"
			}
			table[a] = Decision{v, p.rule(name, why)}
		}
		permit(components.ActionStart, "start", g.Start)
		permit(components.ActionResume, "resume", g.Resume)
		permit(components.ActionPresent, "present", g.Present)
		permit(components.ActionShutdown, "shutdown", g.Shutdown)
		for _, in := range InputNames {
			a := actionByName(in)
			permit(a, "inputs", slices.Contains(g.Inputs, in))
			if table[a].Verdict == Deny {
				p.why[table[a].Rule] = fmt.Sprintf("%q is not in guests.%s.inputs", in, tomlpos.Key(id))
			} else {
				p.why[table[a].Rule] = fmt.Sprintf("%q is in guests.%s.inputs", in, tomlpos.Key(id))
			}
		}
		for _, c := range g.Confirm {
			a := actionByName(c)
			if table[a].Verdict == Allow {
				table[a] = Decision{Confirm, p.rule("guests."+tomlpos.Key(id)+".confirm", fmt.Sprintf("%q is in guests.%s.confirm", c, tomlpos.Key(id)))}
			}
		}
		p.guestIndex[id] = len(p.guests)
		p.guests = append(p.guests, table)
	}
	return p
}

func actionByName(name string) components.IntentAction {
	for a, n := range components.IntentActionNames {
		if n == name {
			return components.IntentAction(a)
		}
	}
	return 0
}

// confirmableNames are the actions a confirm list may name.
func confirmableNames() []string {
	return []string{"start", "resume", "present", "shutdown", "type", "press", "mouse", "click"}
}

// Guest returns the index of a guest in the compiled policy, or -1 when the
// policy does not name it (everything it asks is denied).
func (p *Policy) Guest(id string) int {
	if i, ok := p.guestIndex[id]; ok {
		return i
	}
	return -1
}

// isInput reports the input-injection actions.
func isInput(a components.IntentAction) bool {
	return a >= components.ActionType && a <= components.ActionClick
}

// Decide judges one intent: guest is Policy.Guest's index (or -1), and
// presented and confidence are the moment's facts. It does not allocate.
func (p *Policy) Decide(guest int, action components.IntentAction, confidence float32, presented bool) Decision {
	switch {
	case p.Restricted:
		return Decision{Deny, RulePolicyInvalid}
	case action == components.ActionConfirm || action == components.ActionCancel:
		return Decision{Allow, RuleConfirmation}
	case action == components.ActionHide:
		return Decision{Allow, RuleHide}
	case action == components.ActionSuspend:
		return Decision{Allow, RuleSuspend}
	case guest < 0 || guest >= len(p.guests) || int(action) >= numActions:
		return Decision{Deny, RuleDefaultDeny}
	}
	d := p.guests[guest][action]
	if d.Rule == 0 {
		return Decision{Deny, RuleDefaultDeny} // an action the schema does not govern
	}
	if d.Verdict == Deny {
		return d
	}
	if isInput(action) && !presented {
		return Decision{Deny, RuleInputPresented}
	}
	// NaN is not a confidence: it must never pass for a sure one.
	if d.Verdict == Allow && !(confidence >= p.minConfidence) {
		return Decision{Confirm, RuleMinConfidence}
	}
	return d
}

// Permits is what the policy does not deny guest (Policy.Guest's index)
// whatever the moment: every action whose decision is allow or confirm at
// full confidence with the guest presented. Effects check it at the
// moment they carry an intent out.
func (p *Policy) Permits(guest int) components.ActionSet {
	var set components.ActionSet
	for a := components.ActionStart; int(a) < numActions; a++ {
		if p.Decide(guest, a, 1, true).Verdict != Deny {
			set |= 1 << a
		}
	}
	return set
}

// Rule spells a rule's name.
func (p *Policy) Rule(id RuleID) string {
	if int(id) < len(p.rules) {
		return p.rules[id]
	}
	return "unknown"
}

// ConfirmTimeout is how long a confirmation may take.
func (p *Policy) ConfirmTimeout() time.Duration { return p.confirmTimeout }

// Explain says, in one line, what the policy decides and why.
func (p *Policy) Explain(guestID string, action components.IntentAction, confidence float32, presented bool) string {
	d := p.Decide(p.Guest(guestID), action, confidence, presented)
	why := p.why[d.Rule]
	if d.Rule == RulePolicyInvalid && p.Reason != "" {
		why += ": " + p.Reason
	}
	return fmt.Sprintf("%s: rule %s — %s", VerdictNames[d.Verdict], p.Rule(d.Rule), why)
}

// Summary is a short description for markers: "guests=2 rules=24".
func (p *Policy) Summary() string {
	if p.Restricted {
		return "restricted (deny all)"
	}
	return fmt.Sprintf("guests=%s rules=%d", strings.Join(slices.Sorted(maps.Keys(p.guestIndex)), ","), len(p.rules))
}

// CPUCaps is what the policy allows guest id's CPUs: its CPU set, vCPU
// count cap and max_vcpus (all zero for a guest it does not name; the
// restricted policy starts nothing, so it caps nothing either).
func (p *Policy) CPUCaps(id string) components.CPUCaps {
	g, ok := p.File.Guests[id]
	if !ok || p.Restricted {
		return components.CPUCaps{}
	}
	return components.CPUCaps{AllowLo: uint32(g.CPUs.Mask), AllowHi: uint32(g.CPUs.Mask >> 32), Count: g.CPUs.Count, Max: g.MaxVCPUs}
}
