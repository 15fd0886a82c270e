package policy_test

import (
	"math"
	"strings"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/policy"
)

func mustLoad(t testing.TB, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Load("test.toml", text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultPolicyLoadsAndKeepsNetworkingOff(t *testing.T) {
	p := mustLoad(t, policy.Default())
	for id, g := range p.File.Guests {
		if g.Network {
			t.Errorf("default policy gives %s a network", id)
		}
	}
	if p.Guest("linux") < 0 || p.Guest("windows") < 0 {
		t.Error("default policy lacks the demo guests")
	}
}

const sample = `version = 1
[intent]
min_confidence = 0.8
[guests.linux]
start = true
present = true
shutdown = true
inputs = ["type", "press"]
confirm = ["shutdown"]
[guests.locked]
present = false
`

// One row per rule: what it decides and that it is the deciding rule.
func TestDecideRuleTable(t *testing.T) {
	p := mustLoad(t, sample)
	linux, locked := p.Guest("linux"), p.Guest("locked")
	cases := []struct {
		name       string
		guest      int
		action     components.IntentAction
		confidence float32
		presented  bool
		verdict    policy.Verdict
		rule       string
	}{
		{"start allowed", linux, components.ActionStart, 1, false, policy.Allow, "guests.linux.start"},
		{"resume not granted", linux, components.ActionResume, 1, false, policy.Deny, "guests.linux.resume"},
		{"present allowed", linux, components.ActionPresent, 1, false, policy.Allow, "guests.linux.present"},
		{"present denied", locked, components.ActionPresent, 1, false, policy.Deny, "guests.locked.present"},
		{"unknown guest", p.Guest("mac"), components.ActionStart, 1, false, policy.Deny, "default-deny"},
		{"type while presented", linux, components.ActionType, 1, true, policy.Allow, "guests.linux.inputs"},
		{"type while hidden", linux, components.ActionType, 1, false, policy.Deny, "input.presented"},
		{"mouse not in inputs", linux, components.ActionMouse, 1, true, policy.Deny, "guests.linux.inputs"},
		{"shutdown needs confirmation", linux, components.ActionShutdown, 1, false, policy.Confirm, "guests.linux.confirm"},
		{"low confidence asks", linux, components.ActionPresent, 0.5, false, policy.Confirm, "intent.min_confidence"},
		{"at the threshold acts", linux, components.ActionPresent, 0.8, false, policy.Allow, "guests.linux.present"},
		{"low confidence deny stays deny", locked, components.ActionPresent, 0.1, false, policy.Deny, "guests.locked.present"},
		{"NaN confidence is not sure", linux, components.ActionPresent, float32(math.NaN()), false, policy.Confirm, "intent.min_confidence"},
		{"hide always", locked, components.ActionHide, 0, false, policy.Allow, "hide.always"},
		{"suspend always", p.Guest("mac"), components.ActionSuspend, 1, false, policy.Allow, "suspend.always"},
		{"confirm always", -1, components.ActionConfirm, 0, false, policy.Allow, "confirmation"},
		{"cancel always", -1, components.ActionCancel, 0, false, policy.Allow, "confirmation"},
	}
	for _, c := range cases {
		d := p.Decide(c.guest, c.action, c.confidence, c.presented)
		if d.Verdict != c.verdict || p.Rule(d.Rule) != c.rule {
			t.Errorf("%s: %s by %s, want %s by %s", c.name, policy.VerdictNames[d.Verdict], p.Rule(d.Rule), policy.VerdictNames[c.verdict], c.rule)
		}
	}
	r := policy.RestrictedPolicy("bad file")
	if d := r.Decide(0, components.ActionStart, 1, true); d.Verdict != policy.Deny || r.Rule(d.Rule) != "policy-invalid" {
		t.Errorf("restricted policy: %v by %s", d.Verdict, r.Rule(d.Rule))
	}
	if d := r.Decide(-1, components.ActionHide, 1, true); d.Verdict != policy.Deny {
		t.Error("restricted policy allowed hide: it must deny everything it governs")
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p := mustLoad(t, sample)
	g := p.Guest("linux")
	if a := testing.AllocsPerRun(1000, func() { p.Decide(g, components.ActionType, 0.95, true) }); a != 0 {
		t.Errorf("Decide allocates %v times", a)
	}
}

func TestLoadErrorsNameLineAndKey(t *testing.T) {
	cases := map[string]struct{ text, want string }{
		"unknown key":      {"version = 1\n[guests.linux]\nnetwrok = true\n", `test.toml:3: guests.linux.netwrok: unknown key`},
		"wrong type":       {"version = 1\n[guests.linux]\nmemory_mib = \"two\"\n", `test.toml:3: guests.linux.memory_mib: incompatible types`},
		"syntax":           {"version = 1\nstart = = true\n", `test.toml:2:`},
		"missing version":  {"[guests.linux]\nstart = true\n", `version: missing`},
		"future version":   {"version = 2\n", `test.toml:1: version: version 2 is not supported`},
		"cpus range":       {"version = 1\n[guests.linux]\ncpus = 0\n", `test.toml:3: guests.linux.cpus: 0 is out of range [1, 256]`},
		"memory range":     {"version = 1\n[guests.linux]\n\nmemory_mib = 1\n", `test.toml:4: guests.linux.memory_mib: 1 is out of range`},
		"bad device":       {"version = 1\n[guests.linux]\ndevices = [\"usb\"]\n", `test.toml:3: guests.linux.devices: "usb" is not one of input, gpu, net`},
		"bad input":        {"version = 1\n[guests.linux]\ninputs = [\"telepathy\"]\n", `guests.linux.inputs: "telepathy"`},
		"bad confirm":      {"version = 1\n[guests.linux]\nconfirm = [\"hide\"]\n", `guests.linux.confirm: "hide"`},
		"twice":            {"version = 1\n[guests.linux]\ninputs = [\"type\", \"type\"]\n", `listed twice`},
		"confidence range": {"version = 1\n[intent]\nmin_confidence = 1.5\n", `test.toml:3: intent.min_confidence: 1.5 is out of range [0, 1]`},
		"timeout range":    {"version = 1\n[intent]\nconfirm_timeout_s = 0\n", `test.toml:3: intent.confirm_timeout_s`},
		"network w/o net":  {"version = 1\n[guests.linux]\nnetwork = true\n", `guests.linux.network: network = true needs "net"`},
		"bad guest id":     {"version = 1\n[guests.\"a b\"]\nstart = true\n", `must be non-empty without spaces`},
	}
	for name, c := range cases {
		_, err := policy.Load("test.toml", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
	}
	// Several problems are all reported.
	_, err := policy.Load("test.toml", "version = 1\n[guests.linux]\ncpus = 0\nmemory_mib = 1\nfoo = 1\n")
	if err == nil || strings.Count(err.Error(), "\n") < 2 {
		t.Errorf("want three errors, got %v", err)
	}
}

func TestExplainNamesTheRule(t *testing.T) {
	p := mustLoad(t, sample)
	got := p.Explain("linux", components.ActionType, 1, false)
	if !strings.HasPrefix(got, "deny: rule input.presented") {
		t.Errorf("Explain = %q", got)
	}
	got = policy.RestrictedPolicy("test.toml:3: bad").Explain("linux", components.ActionStart, 1, false)
	if !strings.Contains(got, "policy-invalid") || !strings.Contains(got, "test.toml:3: bad") {
		t.Errorf("restricted Explain = %q", got)
	}
}

// A policy path that names a device or a FIFO is refused, never read
// (reading /dev/zero would never end; opening a FIFO would block).
func TestLoadFileRefusesSpecialFiles(t *testing.T) {
	if _, err := policy.LoadFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero: not a regular file (a character device)") {
		t.Errorf("/dev/zero: %v", err)
	}
}
