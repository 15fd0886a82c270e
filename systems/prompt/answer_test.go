package prompt_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/prompt"
)

// say types line at the prompt and presses Enter; it runs the tick that
// resolves it and returns the Enter key's sequence number and the tick's
// markers.
func (p *promptWorld) say(t tb, line string) (uint64, string) {
	t.Helper()
	p.typeText(t, line)
	seq := p.tap(keyEnter)
	return seq, p.tick()
}

func (p *promptWorld) state() components.Prompt { return *p.prompts.Get(p.bar) }

// answered is what the bar says once line has its answer.
func answered(line, answer string) string {
	return "RayOS  > _      " + line + "  →  " + answer
}

// "what is running?" is answered with every guest's state, on the bar, a
// tick after Enter (intent and effects answer it after the prompt ran);
// the answer stays when its envelope is gone.
func TestStatusAnswerShown(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.say(t, "what is running?")
	if p.title() != answered("what is running?", "…") || p.state().Answering != components.PromptAnswerWaiting {
		t.Fatalf("in the Enter's tick: bar %q, prompt %+v", p.title(), p.state())
	}
	p.tick()
	want := answered("what is running?", "linux presented, windows hidden")
	if p.title() != want {
		t.Fatalf("bar %q\nwant %q", p.title(), want)
	}
	if st := p.state(); st.Answering != components.PromptAnswerFinal || st.Answer != "linux presented, windows hidden" {
		t.Errorf("prompt %+v, want the final answer", st)
	}
	for range 5 {
		p.tick() // the gate drops the finished envelope
	}
	q := ecs.NewFilter1[components.IntentEnvelope](p.w.ECS).Query()
	n := q.Count()
	q.Close()
	if n != 0 || p.title() != want {
		t.Errorf("after 5 ticks: %d envelopes, bar %q", n, p.title())
	}
}

// A line not understood makes no envelope; the intent system's answer,
// the one its RAYOS_INTENT marker carries, is shown with its "did you
// mean".
func TestDidYouMeanShown(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	seq, m := p.say(t, "xyzzy linux")
	got := intents(m)
	if len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprintf("RAYOS_INTENT:%d:none:-:", seq)) || !strings.Contains(got[0], "did you mean") {
		t.Fatalf("intent markers %q, want one not understood with a did-you-mean", got)
	}
	p.tick()
	want := answered("xyzzy linux", `did not understand "xyzzy" (understood: linux); did you mean "show linux" or "status linux"?`)
	if p.title() != want {
		t.Fatalf("bar %q\nwant %q", p.title(), want)
	}
	if p.state().Answering != components.PromptAnswerFinal {
		t.Errorf("prompt %+v, want the answer final", p.state())
	}
}

// An action the policy denies is answered with the rule that denied it:
// the one its RAYOS_POLICY_VIOLATION marker names.
func TestDeniedActionShowsTheRule(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	for _, c := range []struct{ line, what string }{
		{"start linux", "start linux"},
		{"start windows", "start windows"},
	} {
		_, m := p.say(t, c.line)
		rule := regexp.MustCompile(`(?m)^RAYOS_POLICY_VIOLATION:([^:]+):`).FindStringSubmatch(m)
		if rule == nil {
			t.Fatalf("%q: no violation marker:\n%s", c.line, m)
		}
		p.tick()
		want := answered(c.line, c.what+": denied by policy rule "+rule[1])
		if p.title() != want {
			t.Errorf("bar %q\nwant %q", p.title(), want)
		}
	}
}

// The answer is shown until the next key that edits the line: a
// character, Backspace, Escape or Enter. Shift or Caps Lock alone does
// not put it away; a late outcome does not bring it back.
func TestAnswerReplacedOnNextKey(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.say(t, "status")
	p.tick()
	want := answered("status", "linux presented, windows hidden")
	if p.title() != want {
		t.Fatalf("bar %q\nwant %q", p.title(), want)
	}
	p.key(keyShift, true)
	p.key(keyShift, false)
	p.tap(keyCapsLock)
	p.tap(keyCapsLock)
	p.tick()
	if p.title() != want {
		t.Fatalf("Shift and Caps Lock put the answer away: %q", p.title())
	}
	p.tap(30) // a
	p.tick()
	if p.title() != "RayOS  > a_" {
		t.Fatalf("after a key: bar %q, want the line only", p.title())
	}
	if st := p.state(); st.Answering != components.PromptAnswerNone || st.Answer != "" {
		t.Errorf("after a key the prompt holds %+v", st)
	}
	p.tap(keyBackspace)
	p.tick()
	if p.title() != "RayOS  > _" {
		t.Errorf("after backspace to an empty line: bar %q, want no answer", p.title())
	}
	// Escape and an empty Enter put an answer away too.
	for _, k := range []uint32{keyEsc, keyEnter} {
		p.say(t, "status")
		p.tick()
		if p.title() != want {
			t.Fatalf("bar %q\nwant %q", p.title(), want)
		}
		p.tap(k)
		p.tick()
		if p.title() != "RayOS  > _" {
			t.Errorf("after key %d: bar %q", k, p.title())
		}
	}
	// A new line's answer replaces the last one's.
	p.say(t, "xyzzy")
	p.tick()
	if !strings.Contains(p.title(), `xyzzy  →  did not understand "xyzzy"`) {
		t.Errorf("bar %q, want the new line's answer", p.title())
	}
}

const confirmPolicy = `version = 1
[intent]
confirm_timeout_s = 1
[guests.linux]
present = true
shutdown = true
confirm = ["shutdown"]
[guests.windows]
start = true
shutdown = true
`

// An action the policy asks to confirm says so, with the rule, until the
// outcome comes: here its timeout.
func TestConfirmationAskedThenTimedOut(t *testing.T) {
	p := newPromptWorldWith(t, confirmPolicy)
	p.tick()
	p.say(t, "shutdown linux")
	p.tick()
	want := answered("shutdown linux", `shutdown linux: confirm? (rule guests.linux.confirm) say "confirm" or "cancel"`)
	if p.title() != want || p.state().Answering != components.PromptAnswerWaiting {
		t.Fatalf("bar %q\nwant %q (waiting)", p.title(), want)
	}
	timedOut := false
	for range 70 { // 1 s at 60 Hz, and the tick the prompt reads it
		p.tick()
		if timedOut = p.title() == answered("shutdown linux", "shutdown linux: confirmation timed out"); timedOut {
			break
		}
	}
	if !timedOut || p.state().Answering != components.PromptAnswerFinal {
		t.Fatalf("after the timeout: bar %q, prompt %+v", p.title(), p.state())
	}
}

// executor holds hypervisor work until the test feeds its result.
type executor struct{ sources []uint64 }

func (x *executor) Execute(source uint64, _ components.IntentAction, _, _ string) {
	x.sources = append(x.sources, source)
}
func (x *executor) Grant(string, components.ActionSet) {}

// An effect that completes ticks later is "working…" until its result
// comes back, then its outcome.
func TestEffectResultReplacesWorking(t *testing.T) {
	p := newPromptWorldWith(t, confirmPolicy)
	x := &executor{}
	ecs.GetResource[effects.Hypervisor](p.w.ECS).Executor = x
	p.tick()
	for _, c := range []struct{ result, outcome string }{
		{"ok", "shutdown windows: done (stopped)"},
		{"err: the hypervisor is gone", "start windows: failed: the hypervisor is gone"},
	} {
		line, _, _ := strings.Cut(c.outcome, ":")
		seq, _ := p.say(t, line)
		for range 3 {
			p.tick()
			if want := answered(line, line+": working…"); p.title() != want {
				t.Fatalf("bar %q\nwant %q", p.title(), want)
			}
		}
		if len(x.sources) == 0 || x.sources[len(x.sources)-1] != seq {
			t.Fatalf("executor asked for %v, want %d", x.sources, seq)
		}
		p.w.Inbox.Feed(p.w.Clock, components.Input{Kind: components.InputEffect, Device: uint32(seq), Text: c.result})
		p.tick() // effects applies the result
		p.tick() // the prompt reads it
		if want := answered(line, c.outcome); p.title() != want {
			t.Errorf("bar %q\nwant %q", p.title(), want)
		}
	}
}

// A recall waits for the Volume ("working…"), then shows its best source.
func TestRecallShowsTheBestSource(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	seq, _ := p.say(t, "recall kernel")
	p.tick()
	if want := answered("recall kernel", "working…"); p.title() != want {
		t.Fatalf("bar %q\nwant %q", p.title(), want)
	}
	p.w.Inbox.Feed(p.w.Clock, components.Input{Kind: components.InputRetrieval, Device: uint32(seq),
		Text: `[{"score":0.82,"file":"notes/kernel.md","heading":"Boot","text":"the kernel boots"},{"score":0.5,"file":"notes/other.md"}]`})
	p.tick()
	p.tick()
	if want := answered("recall kernel", "best source: notes/kernel.md › Boot (0.82)"); p.title() != want {
		t.Errorf("bar %q\nwant %q", p.title(), want)
	}
}

// A long line and a long answer are cut to what the bar shows, "…"
// standing for the rest: the end of the line, the start of the answer.
func TestLongAnswersAreCut(t *testing.T) {
	said := strings.Repeat("s", 100) + "END"
	answer := "START" + strings.Repeat("é", 300)
	title := prompt.Title(&components.Prompt{Label: "RayOS", Said: said, Answer: answer, Answering: components.PromptAnswerFinal}, true)
	before, after, ok := strings.Cut(title, "  →  ")
	if !ok || !strings.HasSuffix(before, "…"+strings.Repeat("s", 36)+"END") || !strings.HasPrefix(after, "START") || !strings.HasSuffix(after, "é…") {
		t.Fatalf("bar %q", title)
	}
	if n := utf8.RuneCountInString(title); n > 200 {
		t.Errorf("the bar says %d characters; a 1920-pixel bar holds about 250 of its font", n)
	}
	if !utf8.ValidString(title) {
		t.Errorf("cut inside a character: %q", title)
	}
}
