package intent_test

import (
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// fixture is a world with two guests, each with a desktop surface, the
// input and intent systems, and the markers they emit.
type fixture struct {
	w              *world.World
	sched          *world.Scheduler
	linux, windows ecs.Entity
	lx, wx         ecs.Entity // their desktops
	markers        <-chan marker.Marker
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := world.New(world.Config{Hz: 60}, nil)
	f := &fixture{w: w}
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	f.lx = surfaces.NewEntity(&components.Surface{Owner: 1})
	f.wx = surfaces.NewEntity(&components.Surface{Owner: 2})
	guests := ecs.NewMap1[components.Guest](w.ECS)
	f.linux = guests.NewEntity(&components.Guest{ID: "linux", Number: 1, OS: components.OSLinux, State: components.GuestHidden, Desktop: world.Ref(f.lx)})
	f.windows = guests.NewEntity(&components.Guest{ID: "windows", Number: 2, OS: components.OSWindows, State: components.GuestHidden, Desktop: world.Ref(f.wx)})
	sub := w.Markers.Subscribe(256)
	f.markers = sub.C
	var err error
	f.sched, err = world.NewScheduler(w, input.New(), intent.New())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) say(kind components.InputKind, text string) {
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: kind, Text: text})
}

func (f *fixture) envelopes() []components.IntentEnvelope {
	var got []components.IntentEnvelope
	q := ecs.NewFilter1[components.IntentEnvelope](f.w.ECS).Query()
	for q.Next() {
		got = append(got, *q.Get())
	}
	return got
}

func (f *fixture) intentMarkers() []marker.Marker {
	var got []marker.Marker
	for {
		select {
		case m := <-f.markers:
			if m.Kind == marker.KindIntent {
				got = append(got, m)
			}
		default:
			return got
		}
	}
}

// The explicit form resolves with certainty 1 and names its target; a
// line that is no command is answered with a RAYOS_INTENT marker, not
// dropped in silence.
func TestExplicitCommandsAndAnswers(t *testing.T) {
	f := newFixture(t)
	f.say(components.InputText, "present linux")
	f.say(components.InputText, "dance the macarena")
	f.say(components.InputText, "type windows hello there")
	f.sched.Tick(f.w)
	got := f.envelopes()
	if len(got) != 2 {
		t.Fatalf("envelopes %+v, want 2", got)
	}
	want0 := components.IntentEnvelope{Action: components.ActionPresent, Target: world.Ref(f.linux), Confidence: 1, Status: components.IntentPending, Source: 1, Order: 1, Tick: 1}
	want1 := components.IntentEnvelope{Action: components.ActionType, Target: world.Ref(f.windows), Confidence: 1, Status: components.IntentPending, Source: 3, Order: 3, Argument: "hello there", Tick: 1}
	if got[0] != want0 || got[1] != want1 {
		t.Errorf("got\n %+v\n %+v\nwant\n %+v\n %+v", got[0], got[1], want0, want1)
	}
	ms := f.intentMarkers()
	if len(ms) != 3 {
		t.Fatalf("intent markers %v, want one per utterance", ms)
	}
	if ms[0].String() != "RAYOS_INTENT:1:present:linux:confidence=1.00 parse=1.00 attention=1.00" {
		t.Errorf("marker %q", ms[0])
	}
	if ms[1].Fields[0] != "2" || ms[1].Fields[1] != "none" || ms[1].Fields[3] == "" {
		t.Errorf("the unknown line's answer %q", ms[1])
	}
}

// "hide it" means the guest the user is looking at: the attention model
// picks it, and the confidence is the parse's certainty times the
// model's probability.
func TestPronounFollowsGaze(t *testing.T) {
	f := newFixture(t)
	rays := ecs.NewMap1[components.AttentionRay](f.w.ECS)
	f.sched.Tick(f.w)
	rays.NewEntity(&components.AttentionRay{Weight: 1, Hit: f.wx.ID(), HitT: 2, Since: uint32(f.w.Clock.Tick)})
	*f.w.Focus = components.Focus{Surface: world.Ref(f.wx), Owner: 2, Weight: 1, Since: f.w.Clock.Tick}
	for range 60 { // a second of dwell
		f.sched.Tick(f.w)
	}
	f.say(components.InputVoice, "hide it")
	f.sched.Tick(f.w)
	got := f.envelopes()
	if len(got) != 1 || got[0].Action != components.ActionHide || got[0].Target != world.Ref(f.windows) {
		t.Fatalf("envelopes %+v, want hide windows", got)
	}
	if c := got[0].Confidence; !(c > 0.5 && c <= 1) {
		t.Errorf("confidence %v: want the model's probability for the gazed-at guest", c)
	}
	ms := f.intentMarkers()
	if len(ms) != 1 || ms[0].Fields[2] != "windows" || !strings.Contains(ms[0].Fields[3], "attention=") {
		t.Errorf("markers %v", ms)
	}
}

// A recorder, when installed, receives the candidates each utterance was
// resolved with.
func TestRecorderGetsTheCandidates(t *testing.T) {
	f := newFixture(t)
	rec := &intent.Recorder{}
	ecs.AddResource(f.w.ECS, rec)
	f.say(components.InputVoice, "hide it")
	f.say(components.InputVoice, "present windows") // named: recorded too, it teaches what naming is worth
	f.sched.Tick(f.w)
	if len(rec.Utterances) != 2 {
		t.Fatalf("recorded %+v, want both utterances", rec.Utterances)
	}
	u := rec.Utterances[0]
	if u.Source != 1 || len(u.Names) != 2 || len(u.Candidates) != 2 || u.Chosen < 0 || u.Text != "hide it" {
		t.Errorf("recorded %+v", u)
	}
	u = rec.Utterances[1]
	if u.Chosen != 1 || u.Names[1] != "windows" || u.Candidates[1].Name != 1 || u.Candidates[0].Name != 0 {
		t.Errorf("the named utterance recorded %+v: want windows chosen, named", u)
	}
}

// A control-socket "say" is resolved here: its envelope carries the
// request, and how it was understood for the client; nonsense gets a
// finished envelope whose ACK carries the answer.
func TestSayRequests(t *testing.T) {
	f := newFixture(t)
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputHost, Text: "say show the linux desktop", Device: 7, Client: 3})
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputHost, Text: "say", Device: 8, Client: 3})
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputHost, Text: "sayonara linux", Device: 9, Client: 3})
	f.sched.Tick(f.w)
	got := f.envelopes()
	if len(got) != 2 {
		t.Fatalf("envelopes %+v, want 2 (sayonara is not say)", got)
	}
	if e := got[0]; e.Action != components.ActionPresent || e.Target != world.Ref(f.linux) || e.Request != 7 || e.Client != 3 ||
		!strings.HasPrefix(e.Understood, "RAYOS_INTENT:1:present:linux:") {
		t.Errorf("say show the linux desktop: %+v", e)
	}
	if e := got[1]; e.Action != components.ActionSay || e.Status != components.IntentDenied || e.Request != 8 || e.Detail == "" ||
		!strings.HasPrefix(e.Understood, "RAYOS_INTENT:2:none:-:") {
		t.Errorf("empty say: %+v", e)
	}
}

func TestStateFit(t *testing.T) {
	g := func(s components.GuestState) *components.Guest { return &components.Guest{State: s} }
	cases := []struct {
		action components.IntentAction
		state  components.GuestState
		want   float32
	}{
		{components.ActionStart, components.GuestStopped, 1},
		{components.ActionStart, components.GuestDefined, 1},
		{components.ActionStart, components.GuestPresented, 0},
		{components.ActionHide, components.GuestPresented, 1},
		{components.ActionHide, components.GuestStopped, 0},
		{components.ActionPresent, components.GuestHidden, 1},
		{components.ActionResume, components.GuestSuspended, 1},
		{components.ActionType, components.GuestPresented, 1},
		{components.ActionType, components.GuestStopped, 0},
	}
	for _, c := range cases {
		if got := intent.StateFit(c.action, g(c.state)); got != c.want {
			t.Errorf("StateFit(%s, %s) = %v, want %v", components.IntentActionNames[c.action], components.GuestStateNames[c.state], got, c.want)
		}
	}
}
