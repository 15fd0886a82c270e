package input_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

// brokerWorld is a world with two guests (linux presented, windows
// hidden), one RayOS window, the real gate and effects with the simulated
// hypervisor, and the markers they emit.
type brokerWorld struct {
	w        *world.World
	sched    *world.Scheduler
	markers  *bytes.Buffer
	linux    ecs.Entity // guest
	windows  ecs.Entity
	linuxSf  ecs.Entity // desktop surfaces
	windowSf ecs.Entity
	panel    ecs.Entity // RayOS's own
}

const brokerPolicy = `version = 1
[guests.linux]
present = true
inputs = ["press", "mouse", "click"]
[guests.windows]
present = true
inputs = ["mouse"]
`

func newBrokerWorld(t *testing.T) *brokerWorld {
	t.Helper()
	b := &brokerWorld{markers: &bytes.Buffer{}}
	b.w = world.New(world.Config{Hz: 60}, marker.NewBus(b.markers))
	gs := scene.AddGuests(b.w, []scene.GuestSpec{{ID: "linux", OS: components.OSLinux}, {ID: "windows", OS: components.OSWindows}})
	b.linux, b.windows = gs[0], gs[1]
	guests := ecs.NewMap1[components.Guest](b.w.ECS)
	surfaces := ecs.NewMap1[components.Surface](b.w.ECS)
	b.linuxSf, _ = b.w.Resolve(guests.Get(b.linux).Desktop)
	b.windowSf, _ = b.w.Resolve(guests.Get(b.windows).Desktop)
	g := guests.Get(b.linux)
	g.State, g.Presented = components.GuestPresented, true
	surfaces.Get(b.linuxSf).Flags |= components.SurfaceVisible | components.SurfacePresented
	guests.Get(b.windows).State = components.GuestHidden
	// linux's desktop is Rect{480,160,640,400}; the panel overlaps its
	// right part, one layer up.
	b.panel = surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 1000, Y: 100, W: 300, H: 300}, Flags: components.SurfaceVisible, Layer: 2})
	p, err := policy.Load("test", brokerPolicy)
	if err != nil {
		t.Fatal(err)
	}
	policy.Install(b.w.ECS, p)
	if _, err := gpu.Install(b.w.ECS, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 1920, FrameHeight: 1080}); err != nil {
		t.Fatal(err)
	}
	ecs.AddResource(b.w.ECS, &effects.Hypervisor{})
	b.sched, err = world.NewScheduler(b.w, input.New(), input.NewBroker(), policy.NewGate(), effects.New())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *brokerWorld) focus(e ecs.Entity) {
	*b.w.Focus = components.Focus{Surface: world.Ref(e), By: components.FocusGaze, Weight: 1}
}

func (b *brokerWorld) key(code uint16, pressed bool) components.Input {
	return b.w.Inbox.Feed(b.w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: code, Pressed: pressed})
}

func (b *brokerWorld) pointer(x, y float32, buttons uint32) components.Input {
	return b.w.Inbox.Feed(b.w.Clock, components.Input{Kind: components.InputPointer, Device: 2, Pointer: [2]float32{x, y}, Buttons: buttons})
}

// tick runs one tick and returns the markers it emitted.
func (b *brokerWorld) tick() []string {
	b.markers.Reset()
	b.sched.Tick(b.w)
	return strings.Split(strings.TrimSpace(b.markers.String()), "\n")
}

// delivered lists the injections carried out: "press leftctrl+c".
func delivered(lines []string) []string {
	var out []string
	for _, l := range lines {
		m, err := marker.Parse(l)
		if err != nil || m.Kind != marker.KindAudit || !strings.Contains(m.Fields[1], "result=ok delivered") {
			continue
		}
		out = append(out, m.Fields[0]+" "+strings.Fields(m.Fields[1])[0])
	}
	return out
}

func allowedArgs(lines []string) []string {
	var out []string
	for _, l := range lines {
		if m, err := marker.Parse(l); err == nil && m.Kind == marker.KindAudit && m.Fields[0] == "policy-allow" {
			_, arg, _ := strings.Cut(m.Fields[1], "argument=")
			arg, _, _ = strings.Cut(arg, " rule=")
			out = append(out, m.Fields[0]+" "+arg)
		}
	}
	return out
}

func TestBrokerKeysCarryHeldModifiers(t *testing.T) {
	b := newBrokerWorld(t)
	b.focus(b.linuxSf)
	b.key(29, true)  // leftctrl down: held, not sent
	b.key(46, true)  // c
	b.key(46, false) // c up: nothing
	b.key(29, false) // ctrl up: not alone, nothing
	b.key(42, true)  // shift alone…
	b.key(42, false) // …is a tap of its own
	b.key(97, true)  // rightctrl counts as ctrl
	b.key(56, true)  // leftalt
	b.key(111, true) // delete
	lines := b.tick()
	got := strings.Join(allowedArgs(lines), "|")
	want := `policy-allow "leftctrl+c"|policy-allow "leftshift"|policy-allow "leftctrl+leftalt+delete"`
	if got != want {
		t.Fatalf("injected %s\nwant     %s\nmarkers:\n%s", got, want, strings.Join(lines, "\n"))
	}
	if d := delivered(lines); len(d) != 3 || d[0] != "press guest=linux" {
		t.Fatalf("delivered %v, want 3 presses into linux", d)
	}
}

func TestBrokerCoalescesMotionAndClicksCarryPosition(t *testing.T) {
	b := newBrokerWorld(t)
	b.focus(b.linuxSf)
	// linux's content is its whole Rect{480,160,640,400} (no decoration
	// without compose) scaled to the default 1024×768 display.
	for i := range 1000 { // a 1 kHz mouse for a second, in one tick
		b.pointer(480+float32(i%640), 160+float32(i%400), 0)
	}
	lines := b.tick()
	if got := allowedArgs(lines); len(got) != 1 || got[0] != `policy-allow "to 574 382"` {
		t.Fatalf("1000 motions gave %v, want one move to the last position (999%%640=359 → 574, 999%%400=199 → 382)", got)
	}
	_ = lines
	// Motion, a click, more motion: the click positions itself (the motion
	// before it is dropped), the motion after it is one move.
	b.pointer(500, 200, 0)
	b.pointer(800, 360, 1)
	b.pointer(801, 361, 1)
	b.pointer(802, 362, 1)
	lines = b.tick()
	got := strings.Join(allowedArgs(lines), "|")
	if want := `policy-allow "left to 512 384"|policy-allow "to 515 387"`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// dropped lists the input-dropped audits: "guest=windows kind=key reason=not-presented".
func dropped(lines []string) []string {
	var out []string
	for _, l := range lines {
		if m, err := marker.Parse(l); err == nil && m.Kind == marker.KindAudit && m.Fields[0] == "input-dropped" {
			f := strings.Fields(m.Fields[1])
			out = append(out, strings.Join(append(f[:2:2], f[3:]...), " "))
		}
	}
	return out
}

func envelopes(w *world.World) int {
	q := ecs.NewFilter1[components.IntentEnvelope](w.ECS).Query()
	defer q.Close()
	return q.Count()
}

func TestBrokerDropsWhatMayNotReachAGuest(t *testing.T) {
	b := newBrokerWorld(t)
	// windows is hidden: its desktop focused (by gaze, say), a key is
	// dropped, not sent to the gate.
	b.focus(b.windowSf)
	b.key(30, true)
	b.key(30, false) // a release alone says nothing
	if got := dropped(b.tick()); len(got) != 1 || got[0] != "guest=windows kind=key reason=not-presented" {
		t.Fatalf("dropped %v", got)
	}
	if n := envelopes(b.w); n != 0 {
		t.Fatalf("%d envelopes for a hidden guest", n)
	}
	// Presented, but its policy allows only mouse: keys and clicks drop,
	// motion is injected.
	guests := ecs.NewMap1[components.Guest](b.w.ECS)
	g := guests.Get(b.windows)
	g.State, g.Presented = components.GuestPresented, true
	ecs.NewMap1[components.Surface](b.w.ECS).Get(b.windowSf).Flags |= components.SurfaceVisible | components.SurfacePresented
	b.key(30, true)
	b.pointer(1300, 300, 0) // windows' desktop is Rect{1200,160,640,400}; the panel ends at x=1300
	b.pointer(1400, 300, 1)
	lines := b.tick()
	if got := strings.Join(dropped(lines), "|"); got != "guest=windows kind=key reason=not-permitted|guest=windows kind=pointer reason=not-permitted" {
		t.Fatalf("dropped %s", got)
	}
	if got := allowedArgs(lines); len(got) != 1 || got[0] != `policy-allow "to 160 268"` {
		t.Fatalf("allowed %v, want the move before the click only", got)
	}
	// Nothing focused; then a dead surface focused.
	*b.w.Focus = components.Focus{}
	b.key(30, true)
	b.pointer(600, 300, 0) // motion with nothing focused: nobody's, unremarked
	if got := dropped(b.tick()); len(got) != 1 || got[0] != "surface=- kind=key reason=no-focus" {
		t.Fatalf("dropped %v", got)
	}
	b.w.ECS.RemoveEntity(b.panel)
	b.focus(b.panel)
	snap := len(b.w.Snapshot().Entities)
	b.key(30, true)
	b.pointer(1100, 200, 0)
	lines = b.tick()
	if got := strings.Join(dropped(lines), "|"); got != "surface=- kind=key reason=dead-surface" {
		t.Fatalf("dropped %s", got)
	}
	if n := len(b.w.Snapshot().Entities); n != snap {
		t.Fatalf("entities %d → %d", snap, n)
	}
	if n := envelopes(b.w); n != 0 {
		t.Fatalf("%d envelopes left", n)
	}
	// A surface owned by no guest.
	orphan := ecs.NewMap1[components.Surface](b.w.ECS).NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 100, H: 100}, Owner: 9, Flags: components.SurfaceVisible | components.SurfacePresented})
	b.focus(orphan)
	b.key(30, true)
	if got := dropped(b.tick()); len(got) != 1 || !strings.HasSuffix(got[0], "kind=key reason=no-owner") {
		t.Fatalf("dropped %v", got)
	}
}

func TestBrokerClickFocusesTopmostShownSurface(t *testing.T) {
	b := newBrokerWorld(t)
	b.focus(b.linuxSf)
	// (1050, 200) is over linux's desktop and the panel above it: the
	// panel takes the focus and the press, as a surface event.
	in := b.pointer(1050, 200, 1)
	b.tick()
	if b.w.Focus.Surface != world.Ref(b.panel) || b.w.Focus.By != components.FocusPointer || b.w.Focus.Since != 1 || b.w.Focus.Owner != components.OwnerRayOS {
		t.Fatalf("focus after clicking the panel: %+v", *b.w.Focus)
	}
	events := func() []components.SurfaceInput {
		var out []components.SurfaceInput
		q := ecs.NewFilter1[components.SurfaceInput](b.w.ECS).Query()
		for q.Next() {
			out = append(out, *q.Get())
		}
		return out
	}
	ev := events()
	if len(ev) != 1 || ev[0].Seq != in.Seq || ev[0].Pointer != [2]int32{50, 100} || ev[0].Clicked != 1 || ev[0].Surface != world.Ref(b.panel) {
		t.Fatalf("panel events %+v", ev)
	}
	// Keys go to the panel now, raw, with their modifiers; motion is
	// coalesced; the events live one tick.
	b.key(42, true)
	b.key(30, true)
	b.pointer(1060, 210, 1)
	b.pointer(1070, 220, 1)
	lines := b.tick()
	ev = events()
	if len(ev) != 3 || ev[0].Key != 42 || ev[1].Key != 30 || ev[1].Modifiers != components.ModShift || ev[2].Pointer != [2]int32{70, 120} || ev[2].Clicked != 0 {
		t.Fatalf("panel events %+v", ev)
	}
	if n := envelopes(b.w); n != 0 || len(allowedArgs(lines)) != 0 {
		t.Fatalf("RayOS's own inputs went to the gate: %v", lines)
	}
	b.tick()
	if ev = events(); len(ev) != 0 {
		t.Fatalf("events outlived their tick: %+v", ev)
	}
	// Releasing and pressing again over linux's desktop only: linux is
	// focused and clicked; a click on nothing changes nothing.
	b.pointer(600, 300, 0)
	b.pointer(600, 300, 4)
	b.pointer(5, 5, 0)
	b.pointer(5, 5, 1)
	lines = b.tick()
	if b.w.Focus.Surface != world.Ref(b.linuxSf) || b.w.Focus.Since != 4 {
		t.Fatalf("focus after clicking linux: %+v", *b.w.Focus)
	}
	if got := allowedArgs(lines); len(got) != 1 || got[0] != `policy-allow "middle to 192 268"` {
		t.Fatalf("allowed %v", got)
	}
	if got := dropped(lines); len(got) != 1 || got[0] != "surface=- kind=pointer reason=no-surface" {
		t.Fatalf("dropped %v", got)
	}
}

func TestBrokerRefusesHostileInput(t *testing.T) {
	b := newBrokerWorld(t)
	b.focus(b.linuxSf)
	before := *b.w.Focus
	b.pointer(float32(math.NaN()), 10, 1)
	b.pointer(float32(math.Inf(1)), 10, 0)
	b.pointer(3e9, -3e9, 1)
	b.key(0, true)
	b.key(0xffff, true)
	b.key(200, true) // a real code RayOS has no name for: not injectable
	for d := range uint32(input.MaxDevices + 5) {
		b.w.Inbox.Feed(b.w.Clock, components.Input{Kind: components.InputKey, Device: 100 + d, Key: 30, Pressed: true})
	}
	lines := b.tick()
	got := dropped(lines)
	count := map[string]int{}
	for _, d := range got {
		count[d]++
	}
	want := map[string]int{
		"surface=- kind=pointer reason=bad-position": 3,
		"surface=- kind=key reason=bad-key-code":     2,
		"guest=linux kind=key reason=unknown-key":    1,
		"surface=- kind=key reason=too-many-devices": 5 + 1, // device 1 took a slot first
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%q: %d, want %d (all: %v)", k, count[k], n, got)
		}
	}
	if *b.w.Focus != before {
		t.Errorf("hostile pointers moved the focus: %+v", *b.w.Focus)
	}
	if n := len(allowedArgs(lines)); n != input.MaxDevices-1 {
		t.Errorf("%d presses injected, want one per device kept (%d)", n, input.MaxDevices-1)
	}
}
