package policy_test

import (
	"bytes"
	"fmt"
	"strconv"
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
	// The type comes before the present: decided in request order, the
	// guest is not presented yet when it is judged.
	out := g.say("type linux hello", "present linux", "present windows")
	for _, want := range []string{
		"RAYOS_AUDIT:policy-allow:action=present guest=linux confidence=1.00 source=2 rule=guests.linux.present\n",
		"RAYOS_POLICY_VIOLATION:input.presented:action=type guest=linux confidence=1.00 source=1 argument=\"hello\"\n",
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
	// "present" names no guest, and nothing tells the two apart: the
	// attention model is unsure, so the gate asks.
	out := g.say("present")
	if !strings.Contains(out, "RAYOS_AUDIT:policy-confirm:action=present guest=") || !strings.Contains(out, " confidence=0.") || !strings.Contains(out, "rule=intent.min_confidence") {
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

// request creates a pending envelope as the host bridge would for a
// control client's request, and returns its Source.
func (g *gateWorld) request(client uint32, action components.IntentAction, target string, arg string) uint64 {
	g.w.Inbox.Feed(g.w.Clock, components.Input{Kind: components.InputHost}) // take a Source
	seq := g.w.Inbox.Drain()[0].Seq
	env := components.IntentEnvelope{Action: action, Confidence: 1, Status: components.IntentPending,
		Source: seq, Order: seq, Argument: arg, Client: client, Request: seq, Tick: g.w.Clock.Tick}
	if target != "" {
		q := ecs.NewFilter1[components.Guest](g.w.ECS).Query()
		for q.Next() {
			if q.Get().ID == target {
				env.Target = world.Ref(q.Entity())
			}
		}
	}
	ecs.NewMap1[components.IntentEnvelope](g.w.ECS).NewEntity(&env)
	return seq
}

// envelope returns the envelope with Source seq.
func (g *gateWorld) envelope(seq uint64) *components.IntentEnvelope {
	q := ecs.NewFilter1[components.IntentEnvelope](g.w.ECS).Query()
	defer q.Close()
	for q.Next() {
		if q.Get().Source == seq {
			return q.Get()
		}
	}
	return nil
}

func (g *gateWorld) reload(text string) string {
	g.out.Reset()
	g.w.Inbox.Feed(g.w.Clock, components.Input{Kind: components.InputPolicy, Text: text})
	g.sched.Tick(g.w)
	return g.out.String()
}

func (g *gateWorld) guest(id string) *components.Guest {
	q := ecs.NewFilter1[components.Guest](g.w.ECS).Query()
	defer q.Close()
	for q.Next() {
		if q.Get().ID == id {
			return q.Get()
		}
	}
	return nil
}

// A confirm without an id resolves only its own client's latest pending
// request; with an id, exactly that one.
func TestConfirmationBelongsToItsClient(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	mine := g.request(1, components.ActionShutdown, "linux", "")
	g.sched.Tick(g.w)
	other := g.request(2, components.ActionConfirm, "", "")
	g.sched.Tick(g.w)
	if env := g.envelope(other); env.Status != components.IntentFailed || !strings.Contains(env.Detail, "nothing of this client's") {
		t.Errorf("client 2's confirm: %+v", env)
	}
	if env := g.envelope(mine); env.Status != components.IntentConfirm {
		t.Fatalf("client 1's request was resolved by client 2: %+v", env)
	}
	byID := g.request(2, components.ActionConfirm, "", strconv.FormatUint(mine, 10))
	g.sched.Tick(g.w)
	if env := g.envelope(mine); env.Status != components.IntentAllowed || env.Order != byID {
		t.Errorf("confirm by id: %+v (want allowed, in the confirm's place %d)", env, byID)
	}
	if env := g.envelope(byID); env.Status != components.IntentDone || env.Detail != fmt.Sprintf("confirmed %d (shutdown linux)", mine) {
		t.Errorf("the confirm's own outcome: %+v", env)
	}
	g.request(1, components.ActionShutdown, "linux", "")
	g.sched.Tick(g.w)
	zero := g.request(1, components.ActionConfirm, "", "0") // ids start at 1: never "my latest"
	g.sched.Tick(g.w)
	if env := g.envelope(zero); env.Status != components.IntentFailed || !strings.Contains(env.Detail, "no request 0") {
		t.Errorf("confirm 0: %+v", env)
	}
	unknown := g.request(1, components.ActionCancel, "", "999")
	g.sched.Tick(g.w)
	if env := g.envelope(unknown); env.Status != components.IntentFailed || !strings.Contains(env.Detail, "no request 999") {
		t.Errorf("cancel of an unknown id: %+v", env)
	}
}

// A confirmation is a new decision under the policy in force; a reload
// that revokes what waits for confirmation cancels it at once.
func TestReloadCancelsWhatItRevokesAndConfirmRedecides(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	seq := g.request(1, components.ActionShutdown, "linux", "")
	g.sched.Tick(g.w)
	out := g.reload(strings.Replace(sample, "shutdown = true", "shutdown = false", 1))
	env := g.envelope(seq)
	if env.Status != components.IntentDenied || !strings.Contains(env.Detail, "reloaded policy denies it") ||
		!strings.Contains(out, "RAYOS_POLICY_VIOLATION:guests.linux.shutdown:action=shutdown guest=linux") {
		t.Fatalf("pending shutdown after a revoking reload: %+v\n%s", env, out)
	}
	answer := g.request(1, components.ActionConfirm, "", "")
	g.sched.Tick(g.w)
	if a := g.envelope(answer); a.Status != components.IntentFailed {
		t.Errorf("confirm of a cancelled request: %+v", a)
	}
	if g.guest("linux").Permitted&(1<<components.ActionShutdown) != 0 {
		t.Error("Guest.Permitted still has shutdown after the reload")
	}
}

// A reload that revokes presentation hides the guest that is presented
// (an allowed hide in the reload's place in the request order).
func TestReloadHidesWhatItNoLongerAllowsToBePresented(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	linux := g.guest("linux")
	linux.State, linux.Presented = components.GuestPresented, true
	out := g.reload(strings.Replace(sample, "present = true", "present = false", 1))
	if !strings.Contains(out, "RAYOS_AUDIT:policy-revoked:guest=linux action=present rule=guests.linux.present\n") {
		t.Errorf("markers:\n%s", out)
	}
	q := ecs.NewFilter1[components.IntentEnvelope](g.w.ECS).Query()
	hides := 0
	for q.Next() {
		if env := q.Get(); env.Action == components.ActionHide && env.Status == components.IntentAllowed && env.Request == 0 {
			hides++
		}
	}
	if hides != 1 {
		t.Errorf("%d allowed hides queued, want 1", hides)
	}
}

// The gate decides in the order requests were received, whatever order
// the ECS stores the envelopes in.
func TestGateDecidesInRequestOrder(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	first := g.request(1, components.ActionShutdown, "linux", "")
	second := g.request(1, components.ActionShutdown, "linux", "")
	// Swap their storage order: remove the first and store it again.
	e := g.envelope(first)
	copyOfFirst := *e
	q := ecs.NewFilter1[components.IntentEnvelope](g.w.ECS).Query()
	var firstEntity ecs.Entity
	for q.Next() {
		if q.Get().Source == first {
			firstEntity = q.Entity()
		}
	}
	g.w.ECS.RemoveEntity(firstEntity)
	ecs.NewMap1[components.IntentEnvelope](g.w.ECS).NewEntity(&copyOfFirst)
	out := g.say()
	i, j := strings.Index(out, fmt.Sprintf("source=%d ", first)), strings.Index(out, fmt.Sprintf("source=%d ", second))
	if i < 0 || j < 0 || i > j {
		t.Errorf("decided out of order:\n%s", out)
	}
	// "confirm" without an id picks the client's latest.
	answer := g.request(1, components.ActionConfirm, "", "")
	g.sched.Tick(g.w)
	if g.envelope(second).Status != components.IntentAllowed || g.envelope(first).Status != components.IntentConfirm {
		t.Errorf("confirm did not pick the latest: first %+v second %+v answer %+v", g.envelope(first), g.envelope(second), g.envelope(answer))
	}
}

// Pipelined requests are judged as the ones before them leave the world:
// a type after a present in the same tick is allowed, a type after a hide
// is denied, and a confirm right after the request it answers finds it.
func TestPipelinedRequestsAreJudgedInSequence(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	out := g.say("present linux", "type linux a", "hide linux", "type linux b")
	for _, want := range []string{
		`RAYOS_AUDIT:policy-allow:action=type guest=linux confidence=1.00 source=2 argument="a"`,
		`RAYOS_POLICY_VIOLATION:input.presented:action=type guest=linux confidence=1.00 source=4 argument="b"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markers lack %q:\n%s", want, out)
		}
	}
	shutdown := g.request(7, components.ActionShutdown, "linux", "")
	answer := g.request(7, components.ActionConfirm, "", "")
	g.sched.Tick(g.w)
	if env := g.envelope(shutdown); env.Status != components.IntentAllowed {
		t.Errorf("shutdown confirmed in the same tick: %+v (confirm: %+v)", env, g.envelope(answer))
	}
}

// Confirmations are bounded: past MaxPendingConfirmations waiting, a
// request that needs one is refused at once instead of queued.
func TestWaitingConfirmationsAreBounded(t *testing.T) {
	g := newGateWorld(t, mustLoad(t, sample))
	var last uint64
	for range policy.MaxPendingConfirmations + 1 {
		last = g.request(1, components.ActionShutdown, "linux", "")
	}
	g.sched.Tick(g.w)
	if env := g.envelope(last); env.Status != components.IntentDenied || !strings.Contains(env.Detail, "already wait for confirmation") {
		t.Errorf("one past the bound: %+v", env)
	}
	q := ecs.NewFilter1[components.PendingConfirmation](g.w.ECS).Query()
	if n := q.Count(); n != policy.MaxPendingConfirmations {
		t.Errorf("%d waiting, want %d", n, policy.MaxPendingConfirmations)
	}
	q.Close()
}
