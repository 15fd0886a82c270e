package policy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

type gateWorld struct {
	w     *world.World
	sched *world.Scheduler
	out   *bytes.Buffer
	cur   *policy.Current
}

func newGateWorld(t *testing.T, p *policy.Policy) *gateWorld {
	t.Helper()
	out := &bytes.Buffer{}
	w := world.New(world.Config{Hz: 10}, marker.NewBus(out))
	guests := ecs.NewMap1[components.Guest](w.ECS)
	guests.NewEntity(&components.Guest{ID: "linux", Number: 1, State: components.GuestHidden})
	guests.NewEntity(&components.Guest{ID: "windows", Number: 2, State: components.GuestHidden})
	cur := policy.Install(w.ECS, p)
	sched, err := world.NewScheduler(w, input.New(), intent.New(), policy.NewGate())
	if err != nil {
		t.Fatal(err)
	}
	return &gateWorld{w, sched, out, cur}
}

// say feeds a text command and runs one tick; it returns the markers of
// that tick.
func (g *gateWorld) say(texts ...string) string {
	g.out.Reset()
	for _, text := range texts {
		g.w.Inbox.Feed(g.w.Clock, components.Input{Kind: components.InputText, Text: text})
	}
	g.sched.Tick(g.w)
	return g.out.String()
}

func (g *gateWorld) statuses() map[string]string {
	got := map[string]string{}
	q := ecs.NewFilter1[components.IntentEnvelope](g.w.ECS).Query()
	for q.Next() {
		env := q.Get()
		got[components.IntentActionNames[env.Action]] = components.IntentStatusNames[env.Status]
	}
	return got
}

func TestGateDecidesEveryPendingIntent(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	out := g.say("present linux", "type linux hello", "present windows")
	for _, want := range []string{
		"RAYOS_AUDIT:policy-allow:action=present guest=linux confidence=1.00 source=1 rule=guests.linux.present\n",
		"RAYOS_POLICY_VIOLATION:input.presented:action=type guest=linux confidence=1.00 source=2 argument=\"hello\"\n",
		"RAYOS_POLICY_VIOLATION:default-deny:action=present guest=windows confidence=1.00 source=3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markers lack %q:\n%s", want, out)
		}
	}
	st := g.statuses()
	if st["present"] == "" || st["type"] != "denied" {
		t.Errorf("statuses %v", st)
	}
	g.say()
	if st := g.statuses(); st["type"] != "" {
		t.Errorf("a denied envelope outlived its tick: %v", st)
	}
}

func TestConfirmationIsAskedAndResolved(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	out := g.say("shutdown linux")
	if !strings.Contains(out, "RAYOS_AUDIT:policy-confirm:action=shutdown guest=linux") {
		t.Fatalf("no confirmation asked:\n%s", out)
	}
	if st := g.statuses(); st["shutdown"] != "confirm" {
		t.Fatalf("statuses %v", st)
	}
	out = g.say("confirm")
	if !strings.Contains(out, "RAYOS_AUDIT:confirmed:action=shutdown guest=linux") {
		t.Fatalf("confirm did not allow the shutdown:\n%s", out)
	}
	if st := g.statuses(); st["shutdown"] != "allowed" {
		t.Errorf("statuses %v", st)
	}
	if out := g.say("cancel"); !strings.Contains(out, "RAYOS_AUDIT:confirm-none:") {
		t.Errorf("cancel with nothing pending:\n%s", out)
	}

	g.say("shutdown linux")
	if out := g.say("cancel"); !strings.Contains(out, "RAYOS_AUDIT:cancelled:action=shutdown") {
		t.Errorf("cancel:\n%s", out)
	}

	g.say("shutdown linux")
	var timedOut bool
	for i := 0; i < 400 && !timedOut; i++ { // 30 s at 10 Hz
		timedOut = strings.Contains(g.say(), "RAYOS_AUDIT:confirm-timeout:action=shutdown")
	}
	if !timedOut {
		t.Error("an unanswered confirmation never timed out")
	}
	if n := ecs.NewFilter1[components.PendingConfirmation](g.w.ECS).Query(); n.Count() != 0 {
		n.Close()
		t.Error("pending confirmations left behind")
	}
}

func TestLowConfidenceAsksFirst(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	// The user is looking at the linux desktop, but not very hard.
	*g.w.Focus = components.Focus{Owner: 1, Weight: 0.4}
	out := g.say("present")
	if !strings.Contains(out, "RAYOS_AUDIT:policy-confirm:action=present guest=linux confidence=0.40") || !strings.Contains(out, "rule=intent.min_confidence") {
		t.Errorf("markers:\n%s", out)
	}
}

func TestReloadSwapsWholeOrNotAtAll(t *testing.T) {
	g := newGateWorld(t, policy.RestrictedPolicy("no policy file"))
	if out := g.say("present linux"); !strings.Contains(out, "RAYOS_POLICY_VIOLATION:policy-invalid:") {
		t.Fatalf("restricted policy did not deny:\n%s", out)
	}
	feed := func(text string) string {
		g.out.Reset()
		g.w.Inbox.Feed(g.w.Clock, components.Input{Kind: components.InputPolicy, Text: text})
		g.sched.Tick(g.w)
		return g.out.String()
	}
	if out := feed(sample); !strings.Contains(out, "RAYOS_AUDIT:policy-reloaded:guests=linux,locked") {
		t.Fatalf("valid reload:\n%s", out)
	}
	good := g.cur.Policy
	out := feed("version = 1\n[guests.linux]\ncpus = 0\n")
	if !strings.Contains(out, "RAYOS_POLICY_VIOLATION:policy-invalid:"+marker.Escape("replacement refused, last good policy kept: reloaded policy:3: guests.linux.cpus")) {
		t.Errorf("invalid reload:\n%s", out)
	}
	if g.cur.Policy != good {
		t.Error("an invalid replacement replaced the policy")
	}
	if out := g.say("present linux"); !strings.Contains(out, "RAYOS_AUDIT:policy-allow:action=present guest=linux") {
		t.Errorf("after the refused reload the last good policy is not in force:\n%s", out)
	}
}
