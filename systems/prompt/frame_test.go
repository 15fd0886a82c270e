package prompt_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/compose"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

// On the demo world and the whole pipeline, as RayOS boots: the shell bar
// has the keyboard, a key typed changes the composed frame there (and
// only there, the bar's 40 rows), and Enter answers the line.
func TestTypingRedrawsTheBarInTheComposedFrame(t *testing.T) {
	pol, err := policy.Load("default", policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	var markers strings.Builder
	cfg := world.Config{Seed: 1, Hz: 60, Scene: "demo"}
	w := world.New(cfg, marker.NewBus(&markers))
	if _, err := scene.Build(cfg.Scene, w); err != nil {
		t.Fatal(err)
	}
	policy.Install(w.ECS, pol)
	sched, mirror, err := boot.Assemble(w, gpu.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	frame := func() []uint32 {
		for range 3 { // the frame composed two ticks back is the one read
			sched.Tick(w)
		}
		px := make([]uint32, gpu.DefaultMirrorConfig.FrameWidth*gpu.DefaultMirrorConfig.FrameHeight)
		if err := mirror.ReadFrame(px); err != nil {
			t.Fatal(err)
		}
		return px
	}
	before := frame()
	f := *w.Focus
	bar, ok := w.Resolve(f.Surface)
	if !ok || f.By != components.FocusPrompt || !ecs.NewMap1[components.Prompt](w.ECS).HasAll(bar) {
		t.Fatalf("the demo world's focus at boot: %+v, want the shell bar's prompt", f)
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: 30, Pressed: true}) // a
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: 30})
	after := frame()
	width := gpu.DefaultMirrorConfig.FrameWidth
	if slices.Equal(before[:40*width], after[:40*width]) {
		t.Fatal("typing a key left the bar's pixels as they were")
	}
	if !slices.Equal(before[40*width:], after[40*width:]) {
		t.Error("typing a key changed the frame below the bar")
	}
	if got := ecs.NewMap1[components.Title](w.ECS).Get(bar).Text; got != "RayOS  > a_" {
		t.Errorf("the bar says %q", got)
	}
	// Backspace, then the question; Enter answers it in its tick.
	markers.Reset()
	for _, k := range []uint16{14, 17, 35, 30, 20, 57, 23, 31, 57, 19, 22, 49, 49, 23, 49, 34} { // ⌫ "what is running"
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: k, Pressed: true})
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: k})
	}
	enter := w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Device: 1, Key: 28, Pressed: true}).Seq
	sched.Tick(w)
	if want := "RAYOS_INTENT:" + strconv.FormatUint(enter, 10) + ":status:-:"; !strings.Contains(markers.String(), want) {
		t.Fatalf("no %q in the markers:\n%s", want, markers.String())
	}
	// The answer reaches the bar's pixels: the next frame's bar is the
	// title with the answer, drawn as the compositor draws system
	// surfaces, and not the one that waited for it.
	waiting := ecs.NewMap1[components.Title](w.ECS).Get(bar).Text
	answered := frame()
	title := ecs.NewMap1[components.Title](w.ECS).Get(bar).Text
	if want := "RayOS  > _      what is running  →  no guests"; title != want {
		t.Fatalf("the bar says %q, want %q", title, want)
	}
	draw := func(text string) []uint32 {
		return compose.RenderText(nil, text, width, 40, 12, 0xfff4f4f4, compose.SystemFace) // light ink on the dark face
	}
	shown := make([]uint32, 0, 40*width)
	for y := range 40 {
		shown = append(shown, answered[y*width:y*width+width]...)
	}
	if !slices.Equal(shown, draw(title)) {
		t.Error("the bar's pixels are not its title with the answer")
	}
	if slices.Equal(shown, draw(waiting)) {
		t.Errorf("the bar's pixels are still those of %q", waiting)
	}
	if !slices.Equal(after[40*width:], answered[40*width:]) {
		t.Error("the answer changed the frame below the bar")
	}
}
