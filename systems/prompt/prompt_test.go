package prompt_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/intent/language"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/systems/prompt"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/keys"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

// promptWorld is a bare RayOS as it boots on hardware: the shell bar with
// the prompt, a RayOS launcher window, two guests (linux presented, so
// that a click can give it the keyboard; windows hidden), and the
// pipeline from input to effects with the prompt's two systems where
// boot.Pipeline puts them. No gaze: attention clears the focus every tick.
type promptWorld struct {
	w        *world.World
	sched    *world.Scheduler
	markers  *bytes.Buffer
	bar      ecs.Entity
	launcher ecs.Entity
	linuxSf  ecs.Entity
	prompts  *ecs.Map1[components.Prompt]
	titles   *ecs.Map1[components.Title]
}

const promptPolicy = `version = 1
[guests.linux]
present = true
inputs = ["press", "mouse", "click"]
`

// tb is what the helpers need of a test: a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func newPromptWorld(t tb) *promptWorld {
	t.Helper()
	return newPromptWorldWith(t, promptPolicy)
}

// newPromptWorldWith is newPromptWorld with the policy text pol in force.
func newPromptWorldWith(t tb, pol string) *promptWorld {
	t.Helper()
	p := &promptWorld{markers: &bytes.Buffer{}}
	p.w = world.New(world.Config{Hz: 60}, marker.NewBus(p.markers))
	gs := scene.AddGuests(p.w, []scene.GuestSpec{{ID: "linux", OS: components.OSLinux}, {ID: "windows", OS: components.OSWindows}})
	guests := ecs.NewMap1[components.Guest](p.w.ECS)
	g := guests.Get(gs[0])
	g.State, g.Presented = components.GuestPresented, true
	p.linuxSf, _ = p.w.Resolve(g.Desktop)
	ecs.NewMap1[components.Surface](p.w.ECS).Get(p.linuxSf).Flags |= components.SurfaceVisible | components.SurfacePresented
	guests.Get(gs[1]).State = components.GuestHidden
	bars := ecs.NewMap3[components.Surface, components.Title, components.Prompt](p.w.ECS)
	p.bar = bars.NewEntity(&components.Surface{Rect: components.Rect{W: 1920, H: 40}, Layer: 2,
		Flags: components.SurfaceVisible | components.SurfaceSystem}, &components.Title{Text: "RayOS"}, &components.Prompt{Label: "RayOS"})
	p.launcher = ecs.NewMap2[components.Surface, components.Title](p.w.ECS).NewEntity(&components.Surface{
		Rect: components.Rect{X: 40, Y: 80, W: 400, H: 900}, Layer: 1, Flags: components.SurfaceVisible}, &components.Title{Text: "Launcher"})
	p.prompts = ecs.NewMap1[components.Prompt](p.w.ECS)
	p.titles = ecs.NewMap1[components.Title](p.w.ECS)
	loaded, err := policy.Load("test", pol)
	if err != nil {
		t.Fatal(err)
	}
	policy.Install(p.w.ECS, loaded)
	if _, err := gpu.Install(p.w.ECS, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 1920, FrameHeight: 1080}); err != nil {
		t.Fatal(err)
	}
	ecs.AddResource(p.w.ECS, &effects.Hypervisor{})
	p.sched, err = world.NewScheduler(p.w, input.New(), attention.New(), prompt.NewFocus(), input.NewBroker(), prompt.New(),
		intent.New(), policy.NewGate(), effects.New())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// key feeds one key event from keyboard 1 and returns its sequence number.
func (p *promptWorld) key(code uint32, pressed bool) uint64 {
	return p.w.Inbox.Feed(p.w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: uint16(code), Pressed: pressed}).Seq
}

// tap presses and releases a key.
func (p *promptWorld) tap(code uint32) uint64 {
	seq := p.key(code, true)
	p.key(code, false)
	return seq
}

// typeText feeds the key presses and releases that type text on a US
// keyboard (shift held for capitals and shifted signs), the way a person
// types it: world/keys' own keymap, the one "type" injects with.
func (p *promptWorld) typeText(t tb, text string) {
	t.Helper()
	chords, ok := keys.Text(text)
	if !ok {
		t.Fatalf("%q cannot be typed on a US keyboard", text)
	}
	for _, c := range chords {
		for _, k := range c {
			p.key(k, true)
		}
		for i := len(c) - 1; i >= 0; i-- {
			p.key(c[i], false)
		}
	}
}

// tick runs one tick and returns the markers it emitted.
func (p *promptWorld) tick() string {
	p.markers.Reset()
	p.sched.Tick(p.w)
	return p.markers.String()
}

func (p *promptWorld) line() string  { return p.prompts.Get(p.bar).Line }
func (p *promptWorld) title() string { return p.titles.Get(p.bar).Text }

const (
	keyEnter     = 28
	keyBackspace = 14
	keyEsc       = 1
	keyShift     = 42
	keyCtrl      = 29
	keyCapsLock  = 58
)

func intents(markers string) []string {
	var out []string
	for _, l := range strings.Split(markers, "\n") {
		if strings.HasPrefix(l, "RAYOS_INTENT:") {
			out = append(out, l)
		}
	}
	return out
}

func TestNothingFocusedGivesThePromptTheKeyboard(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	f := *p.w.Focus
	if f.Surface != world.Ref(p.bar) || f.By != components.FocusPrompt || f.Owner != components.OwnerRayOS || f.Since != 1 {
		t.Fatalf("focus at a bare RayOS: %+v, want the prompt by prompt since tick 1", f)
	}
	if p.title() != "RayOS  > _" {
		t.Errorf("the focused bar says %q, want the prompt and its caret", p.title())
	}
	for range 5 {
		p.tick() // attention clears the focus each tick; the prompt takes it back
	}
	if f := *p.w.Focus; f.Surface != world.Ref(p.bar) || f.Since != 1 {
		t.Errorf("focus after 6 ticks without gaze: %+v, want the prompt's since tick 1", f)
	}
}

func TestEnterResolvesTheLineLikeTypedText(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.typeText(t, "what is running?")
	if m := p.tick(); len(intents(m)) != 0 {
		t.Fatalf("a line resolved before Enter:\n%s", m)
	}
	if p.line() != "what is running?" || p.title() != "RayOS  > what is running?_" {
		t.Fatalf("line %q, bar %q", p.line(), p.title())
	}
	enter := p.tap(keyEnter)
	m := p.tick()
	got := intents(m)
	want := fmt.Sprintf("RAYOS_INTENT:%d:status:-:", enter)
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Fatalf("intent markers %q, want one starting %q; all markers:\n%s", got, want, m)
	}
	// The answer is made after the bar, by intent and effects: the bar
	// says the line and waits for it.
	if p.line() != "" || p.title() != "RayOS  > _      what is running?  →  …" {
		t.Errorf("after Enter: line %q, bar %q", p.line(), p.title())
	}
	if pr := p.prompts.Get(p.bar); pr.Said != "what is running?" || pr.Seq != enter {
		t.Errorf("prompt remembers %q seq %d, want the line and Enter's seq %d", pr.Said, pr.Seq, enter)
	}
	// The utterance lived for its tick only, like every input.
	if m := p.tick(); len(intents(m)) != 0 {
		t.Errorf("the line resolved again a tick later:\n%s", m)
	}
	// The keypad's Enter submits too.
	p.typeText(t, "status")
	kp := p.tap(96)
	if got := intents(p.tick()); len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprintf("RAYOS_INTENT:%d:status:", kp)) {
		t.Errorf("keypad Enter: %q", got)
	}
}

// Keys typed and submitted in one tick resolve in that tick, in order.
func TestLinesTypedInOneTickResolveInOrder(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.typeText(t, "status")
	first := p.tap(keyEnter)
	p.typeText(t, "start windows")
	second := p.tap(keyEnter)
	got := intents(p.tick())
	if len(got) != 2 || !strings.HasPrefix(got[0], fmt.Sprintf("RAYOS_INTENT:%d:status:", first)) ||
		!strings.HasPrefix(got[1], fmt.Sprintf("RAYOS_INTENT:%d:start:windows:", second)) {
		t.Fatalf("intents %q, want status (%d) then start windows (%d)", got, first, second)
	}
}

func TestBackspaceEscapeAndEmptyLines(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.typeText(t, "abc")
	p.tap(keyBackspace)
	p.tick()
	if p.line() != "ab" {
		t.Fatalf("after backspace: %q, want ab", p.line())
	}
	p.tap(keyBackspace)
	p.tap(keyBackspace)
	p.tap(keyBackspace) // on an empty line: nothing
	p.tick()
	if p.line() != "" {
		t.Fatalf("after three backspaces: %q", p.line())
	}
	p.typeText(t, "start linux")
	p.tap(keyEsc)
	p.tick()
	if p.line() != "" || p.title() != "RayOS  > _" {
		t.Fatalf("after Escape: line %q, bar %q", p.line(), p.title())
	}
	p.tap(keyEnter)
	p.typeText(t, "   ")
	p.tap(keyEnter)
	if m := p.tick(); len(intents(m)) != 0 || p.prompts.Get(p.bar).Said != "" {
		t.Fatalf("an empty or blank line said something:\n%s", m)
	}
}

func TestKeymapShiftAndCapsLock(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	const text = `Hello, "World" - it's 1/2. OK? [a_b] {c}! @#$%^&*() +=;: <x> ~` + "`|\\"
	p.typeText(t, text)
	p.tick()
	if p.line() != text {
		t.Fatalf("typed %q\ngot   %q", text, p.line())
	}
	p.tap(keyEsc)
	p.tap(keyCapsLock)
	p.typeText(t, "ab1")
	p.key(keyShift, true)
	p.tap(46) // c: shift with caps lock types lower case
	p.tap(2)  // 1: caps lock does not shift digits, shift does
	p.key(keyShift, false)
	p.tap(keyCapsLock)
	p.tap(47) // v: caps lock off again
	p.tick()
	if p.line() != "AB1c!v" {
		t.Fatalf("caps lock: %q, want AB1c!v", p.line())
	}
	// Keypad digits and signs, as with Num Lock on.
	p.tap(keyEsc)
	for _, k := range []uint32{79, 78, 80, 55, 81, 98, 82, 83, 74} {
		p.tap(k)
	}
	p.tick()
	if p.line() != "1+2*3/0.-" {
		t.Fatalf("keypad: %q", p.line())
	}
}

// Ctrl, Alt or Meta held make a shortcut, not text; keys without a
// character (arrows, F1, tab) type nothing.
func TestShortcutsAndNonCharacterKeysTypeNothing(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.typeText(t, "x")
	p.key(keyCtrl, true)
	p.tap(30) // ctrl+a
	p.key(keyCtrl, false)
	p.key(56, true)
	p.tap(31) // alt+s
	p.key(56, false)
	for _, k := range []uint32{103, 105, 59, 15, 111} { // up, left, f1, tab, delete
		p.tap(k)
	}
	p.tick()
	if p.line() != "x" {
		t.Fatalf("line %q, want only the x", p.line())
	}
}

func TestTooLongALineRefusesKeys(t *testing.T) {
	if prompt.MaxLine != language.MaxUtterance {
		t.Fatalf("the prompt holds %d bytes, the language reads %d", prompt.MaxLine, language.MaxUtterance)
	}
	p := newPromptWorld(t)
	p.tick()
	long := "type " + strings.Repeat("a", prompt.MaxLine-5)
	p.typeText(t, long)
	p.tick()
	if p.line() != long || p.prompts.Get(p.bar).Refused != 0 {
		t.Fatalf("a full line of %d bytes: got %d bytes, refused %d", len(long), len(p.line()), p.prompts.Get(p.bar).Refused)
	}
	p.typeText(t, "bcd")
	p.tick()
	if p.line() != long || p.prompts.Get(p.bar).Refused != 3 {
		t.Fatalf("keys past the limit: line %d bytes (ends %q), refused %d; want the line unchanged and 3 refused",
			len(p.line()), p.line()[len(p.line())-3:], p.prompts.Get(p.bar).Refused)
	}
	if !strings.HasSuffix(p.title(), "(line full: 512 bytes)") || !strings.Contains(p.title(), "…") {
		t.Errorf("the bar does not say the line is full, or shows all of it: %q", p.title())
	}
	p.tap(keyBackspace)
	p.tick()
	if p.prompts.Get(p.bar).Refused != 0 || strings.Contains(p.title(), "line full") {
		t.Errorf("backspace left the line full: %q", p.title())
	}
	p.typeText(t, "z")
	enter := p.tap(keyEnter)
	got := intents(p.tick())
	if len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprintf("RAYOS_INTENT:%d:", enter)) || strings.Contains(got[0], "longer than") {
		t.Fatalf("a full line was not read as an utterance: %q", got)
	}
}

// A guest clicked into has the keyboard: its keys are its, the prompt's
// line does not move; when the guest is gone from view the prompt has it
// again.
func TestKeysToAFocusedGuestAreNotThePrompts(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.typeText(t, "ab")
	p.tick()
	// Click into linux's desktop (Rect 480,160 640x400, below its title bar).
	p.w.Inbox.Feed(p.w.Clock, components.Input{Kind: components.InputPointer, Device: 2, Pointer: [2]float32{700, 400}, Buttons: 1})
	p.w.Inbox.Feed(p.w.Clock, components.Input{Kind: components.InputPointer, Device: 2, Pointer: [2]float32{700, 400}})
	p.typeText(t, "cd")
	p.tap(keyEnter)
	m := p.tick()
	if f := *p.w.Focus; f.Surface != world.Ref(p.linuxSf) || f.By != components.FocusPointer {
		t.Fatalf("focus after the click: %+v", f)
	}
	if p.line() != "ab" || len(intents(m)) != 0 {
		t.Fatalf("the prompt took a guest's keys: line %q, intents %q", p.line(), intents(m))
	}
	for _, want := range []string{`argument="c"`, `argument="d"`, `argument="enter"`} {
		if !strings.Contains(m, "RAYOS_AUDIT:policy-allow:action=press guest=linux") || !strings.Contains(m, want) {
			t.Errorf("linux did not get %s:\n%s", want, m)
		}
	}
	if p.title() != "RayOS  > ab" {
		t.Errorf("the bar without the keyboard says %q, want the line without a caret", p.title())
	}
	// Hide linux's desktop: the clicked focus gives way, nothing else
	// holds it, the prompt has the keyboard again.
	ecs.NewMap1[components.Surface](p.w.ECS).Get(p.linuxSf).Flags &^= components.SurfaceVisible
	p.typeText(t, "e")
	p.tick()
	if f := *p.w.Focus; f.Surface != world.Ref(p.bar) || f.By != components.FocusPrompt {
		t.Fatalf("focus after linux left the screen: %+v", f)
	}
	if p.line() != "abe" {
		t.Errorf("line %q, want abe", p.line())
	}
}

// Keys into RayOS's other surfaces (a clicked launcher) are not a line.
func TestOtherRayOSSurfacesKeepTheirKeys(t *testing.T) {
	p := newPromptWorld(t)
	p.tick()
	p.w.Inbox.Feed(p.w.Clock, components.Input{Kind: components.InputPointer, Device: 2, Pointer: [2]float32{100, 500}, Buttons: 1})
	p.typeText(t, "status")
	p.tap(keyEnter)
	m := p.tick()
	if f := *p.w.Focus; f.Surface != world.Ref(p.launcher) {
		t.Fatalf("focus after clicking the launcher: %+v", f)
	}
	if p.line() != "" || len(intents(m)) != 0 {
		t.Fatalf("the launcher's keys edited the prompt: line %q, intents %q", p.line(), intents(m))
	}
}

// A world without a prompt surface (a benchmark scene) runs the systems
// without effect: nothing focused stays so.
func TestNoPromptSurfaceChangesNothing(t *testing.T) {
	w := world.New(world.Config{Hz: 60}, nil)
	s, err := world.NewScheduler(w, input.New(), prompt.NewFocus(), input.NewBroker(), prompt.New())
	if err != nil {
		t.Fatal(err)
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: 30, Pressed: true})
	s.Tick(w)
	if *w.Focus != (components.Focus{}) {
		t.Fatalf("focus without a prompt: %+v", *w.Focus)
	}
}
