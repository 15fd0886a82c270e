package intent_test

import (
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/world/marker"
)

func (f *fixture) asks() []intent.Ask {
	r := ecs.GetResource[intent.Retrievals](f.w.ECS)
	if r == nil {
		return nil
	}
	return append([]intent.Ask(nil), r.Asks...)
}

// sayRequest feeds a control-socket "say" as the host bridge announces it.
func (f *fixture) sayRequest(id uint32, text string) {
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputHost, Device: id, Client: 1, Text: "say " + text})
}

func (f *fixture) answer(source uint64, text string) {
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputRetrieval, Device: uint32(source), Text: text})
}

var kernelNotes = intent.EncodeAnswer([]intent.Passage{
	{Score: 0.61, File: "notes/kernel.md", Heading: "Kernel > Scheduler", Text: "The kernel scheduler picks the next task\nby its virtual runtime."},
	{Score: 0.42, File: "notes/boot.md", Heading: "Boot", Text: "Boot recovery counts failed boots."},
	{Score: 0.40, File: "notes/kernel.md", Heading: "Kernel > Scheduler", Text: "More about the scheduler."},
})

// A recall does not act at once: it asks the Volume through Retrievals
// and waits; the answer, an input, finishes it with a marker naming the
// sources and, for a said request, a done envelope whose detail carries
// the passages to the ACK.
func TestRecallAsksAndTheAnswerCompletesIt(t *testing.T) {
	f := newFixture(t)
	f.sayRequest(7, "find my notes about the kernel scheduler")
	f.sched.Tick(f.w)
	asks := f.asks()
	if len(asks) != 1 || asks[0] != (intent.Ask{Source: 1, Text: "kernel scheduler", K: intent.RecallK}) {
		t.Fatalf("asks %+v, want one for source 1", asks)
	}
	if env := f.envelopes(); len(env) != 0 || len(f.intentMarkers()) != 0 {
		t.Fatalf("a recall answered before the Volume did: %+v", env)
	}
	f.sched.Tick(f.w)
	if len(f.asks()) != 0 {
		t.Fatalf("asks kept after a tick: %+v", f.asks())
	}
	f.answer(1, kernelNotes)
	f.sched.Tick(f.w)
	ms := f.intentMarkers()
	want := "RAYOS_INTENT:1:recall:-:confidence=0.61 parse=1.00 similarity=0.61 sources=notes/kernel.md#Kernel > Scheduler; notes/boot.md#Boot"
	if len(ms) != 1 || ms[0].String() != want {
		t.Fatalf("markers %v\nwant %s", ms, want)
	}
	envs := f.envelopes()
	if len(envs) != 1 {
		t.Fatalf("envelopes %+v", envs)
	}
	e := envs[0]
	if e.Action != components.ActionRecall || e.Status != components.IntentDone || e.Request != 7 || e.Client != 1 ||
		e.Source != 1 || e.Confidence != 0.61 || e.Argument != "kernel scheduler" || e.Understood != want {
		t.Errorf("envelope %+v", e)
	}
	parts := strings.Split(e.Detail, " | ")
	if len(parts) != 3 || parts[0] != "notes/kernel.md › Kernel > Scheduler (0.61) — The kernel scheduler picks the next task by its virtual runtime." {
		t.Errorf("detail %q", e.Detail)
	}
	// A second answer for the same recall (a duplicate, or one after the
	// deadline) changes nothing.
	f.answer(1, kernelNotes)
	f.sched.Tick(f.w)
	if ms := f.intentMarkers(); len(ms) != 0 || len(f.envelopes()) != 1 {
		t.Errorf("a second answer was taken: %v", ms)
	}
}

// Typed (not said) recalls answer with the marker only; an "err:" answer
// and one that is not the passages' JSON are answered as failures naming
// why, never dropped, and never taken for passages.
func TestRecallBadAnswers(t *testing.T) {
	f := newFixture(t)
	f.sayRequest(1, "search for boot recovery")
	f.sayRequest(2, "recall gpu")
	f.sayRequest(3, "recall thermal")
	f.say(components.InputText, "what do my notes say about attention?")
	f.say(components.InputText, "recall nothing")
	f.sched.Tick(f.w)
	if n := len(f.asks()); n != 5 {
		t.Fatalf("%d asks, want 5", n)
	}
	f.answer(1, "err: no volume")
	f.answer(2, `[{"score":0.5,"file":`)
	f.answer(3, `[{"score":7,"file":"x"}]`)
	f.answer(4, `[{"score":0.9,"file":"notes/attention.md","text":"gaze"}]`)
	f.answer(5, `[]`)
	f.answer(99, kernelNotes) // for nobody
	f.answer(5, kernelNotes)  // a second answer in the same tick: the first counts
	f.sched.Tick(f.w)
	ms := f.intentMarkers()
	if len(ms) != 5 {
		t.Fatalf("markers %v, want 5", ms)
	}
	for i, want := range []string{"no passages: no volume", "no passages: bad answer from the Volume", "no passages: bad answer from the Volume: passage 1: score 7",
		"confidence=0.90 parse=1.00 similarity=0.90 sources=notes/attention.md", "confidence=0.00 parse=1.00 similarity=0.00 sources=-"} {
		if !strings.Contains(ms[i].Fields[3], want) {
			t.Errorf("marker %d %q, want %q", i, ms[i], want)
		}
	}
	envs := f.envelopes()
	if len(envs) != 3 {
		t.Fatalf("envelopes %+v, want the 3 said", envs)
	}
	for _, e := range envs {
		if e.Status != components.IntentFailed || e.Confidence != 0 || e.Detail == "" {
			t.Errorf("envelope %+v, want failed with why", e)
		}
	}
}

// A recall nobody answers is answered at its deadline; too many waiting
// answer the oldest "busy".
func TestRecallDeadlineAndBound(t *testing.T) {
	f := newFixture(t)
	f.sayRequest(1, "recall kernel")
	f.sched.Tick(f.w)
	asked := f.w.Clock.Tick
	var ms []marker.Marker
	for len(ms) == 0 && f.w.Clock.Tick < asked+1000 {
		f.sched.Tick(f.w)
		ms = f.intentMarkers()
	}
	if waited, want := f.w.Clock.Tick-asked, uint64(intent.RecallDeadline.Seconds()*60); waited != want {
		t.Errorf("answered %d ticks after asking, want %d (the deadline at 60 Hz)", waited, want)
	}
	if len(ms) != 1 || !strings.Contains(ms[0].Fields[3], "no answer from the Volume") || len(f.envelopes()) != 1 ||
		f.envelopes()[0].Status != components.IntentFailed {
		t.Fatalf("at the deadline: %v %+v", ms, f.envelopes())
	}

	g := newFixture(t)
	for i := range intent.MaxWaitingRecalls + 2 {
		g.sayRequest(uint32(i+1), "recall kernel")
	}
	g.sched.Tick(g.w)
	ms = g.intentMarkers()
	if len(ms) != 2 || ms[0].Fields[0] != "1" || ms[1].Fields[0] != "2" || !strings.Contains(ms[0].Fields[3], "busy") {
		t.Fatalf("busy answers %v, want the 2 oldest", ms)
	}
	// The ones still waiting are answered when their answers come.
	g.answer(3, kernelNotes)
	g.answer(18, kernelNotes)
	g.answer(1, kernelNotes) // already answered busy
	g.sched.Tick(g.w)
	ms = g.intentMarkers()
	if len(ms) != 2 || ms[0].Fields[0] != "3" || ms[1].Fields[0] != "18" {
		t.Errorf("answers %v, want 3 and 18", ms)
	}
}

// EncodeAnswer bounds what it writes, and what it writes reads back.
func TestEncodeAnswerBounds(t *testing.T) {
	var many []intent.Passage
	for range 200 {
		many = append(many, intent.Passage{Score: 0.123456, File: strings.Repeat("f", 1000), Text: strings.Repeat("word ", 500)})
	}
	text := intent.EncodeAnswer(many)
	if len(text) > components.MaxRetrievalText || !strings.HasPrefix(text, `[{"score":0.123,`) {
		t.Fatalf("answer of %d bytes: %.80s", len(text), text)
	}
	if got := intent.AnswerError("line\none"); got != "err: line one" {
		t.Errorf("AnswerError %q", got)
	}
}
