package compose_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/compose"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/world"
)

// rig is a world with the compose system and gpu-submit on a backend.
type rig struct {
	w        *world.World
	m        *gpu.Mirror
	sched    *world.Scheduler
	surfaces *ecs.Map1[components.Surface]
	frame    []uint32
}

func newRig(t *testing.T, b gpu.Backend, width, height int) *rig {
	t.Helper()
	w := world.New(world.Config{Hz: 60, Seed: 1}, nil)
	cfg := gpu.MirrorConfig{FrameWidth: width, FrameHeight: height, Background: gpu.RGBA(1, 2, 3, 255)}
	m, err := gpu.Install(w.ECS, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{w: w, m: m, surfaces: ecs.NewMap1[components.Surface](w.ECS), frame: make([]uint32, width*height)}
}

func (r *rig) start(t *testing.T) {
	t.Helper()
	var err error
	if r.sched, err = world.NewScheduler(r.w, compose.New(), gpusync.NewSubmit()); err != nil {
		t.Fatal(err)
	}
}

// tick runs one tick and reads the frame as of the last collected run.
func (r *rig) tick(t *testing.T) {
	t.Helper()
	r.sched.Tick(r.w)
	if err := r.m.ReadFrame(r.frame); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) at(x, y int) uint32 { return r.frame[y*r.m.Config().FrameWidth+x] }

// A guest's desktop is decorated by RayOS: a border and title bar in its
// trust label's colour, a title naming its registry id and state (which
// follows the state), the focused surface highlighted; RayOS's own
// windows get RayOS's colour and their Title.
func TestGuestsAreDecoratedInTheirTrustColour(t *testing.T) {
	r := newRig(t, gpu.NewCPU(), 400, 300)
	guests := ecs.NewMap1[components.Guest](r.w.ECS)
	desktop := r.surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 20, Y: 20, W: 200, H: 150}, Owner: 1, Flags: components.SurfaceVisible | components.SurfacePresented})
	g := guests.NewEntity(&components.Guest{ID: "linux", Number: 1, State: components.GuestPresented, Presented: true, Label: components.LabelGreen, Desktop: world.Ref(desktop)})
	window := ecs.NewMap2[components.Surface, components.Title](r.w.ECS).NewEntity(
		&components.Surface{Rect: components.Rect{X: 240, Y: 20, W: 140, H: 100}, Flags: components.SurfaceVisible, Layer: 1}, &components.Title{Text: "Notes"})
	r.start(t)
	r.tick(t)
	r.tick(t)
	green := compose.TrustColours[components.LabelGreen]
	if got := r.at(21, 100); got != green {
		t.Errorf("guest border pixel %08x, want its label's green %08x", got, green)
	}
	if got := r.at(241, 100); got != compose.RayOSFrame {
		t.Errorf("RayOS window border pixel %08x, want RayOS's frame %08x", got, compose.RayOSFrame)
	}
	d := r.m.DecorOf(desktop)
	if d.Frame != green || d.Border != compose.Border || d.TitleHeight != compose.TitleHeight || d.Flags&gpu.DecorOpaqueContent == 0 || d.Highlight != 0 {
		t.Errorf("guest decoration %+v", d)
	}
	// The title bar has text in it: pixels of the text colour on the label.
	titleRow := func(x0, x1 int) (ink int) {
		for y := 20 + compose.Border; y < 20+compose.Border+compose.TitleHeight; y++ {
			for x := x0; x < x1; x++ {
				if c := r.at(x, y); c != green && c != compose.RayOSFrame {
					ink++
				}
			}
		}
		return ink
	}
	if n := titleRow(30, 200); n < 50 {
		t.Errorf("the guest's title bar has %d text pixels", n)
	}
	before := slices.Clone(r.frame)
	// Focus moves to the guest: its outermost line turns white; its state
	// changes: the title is redrawn.
	r.w.Focus.Surface = world.Ref(desktop)
	guests.Get(g).Ready = true
	r.tick(t)
	r.tick(t)
	if got := r.at(20, 100); got != compose.Highlight {
		t.Errorf("focused guest's outer border %08x, want the highlight", got)
	}
	changed := 0
	for y := 20 + compose.Border; y < 20+compose.Border+compose.TitleHeight; y++ {
		for x := 24; x < 216; x++ {
			if r.at(x, y) != before[y*400+x] {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("the title did not change when the guest became ready")
	}
	if r.m.DecorOf(window).Highlight != 0 {
		t.Error("an unfocused window is highlighted")
	}
}

// Surface.Damage is honoured once: the damaged part is recomposed, and
// the flag is cleared so that it is not recomposed again.
func TestSurfaceDamageIsRecomposedOnce(t *testing.T) {
	r := newRig(t, gpu.NewCPU(), 128, 96)
	e := r.surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 128, H: 96}, Flags: components.SurfaceVisible | components.SurfaceSystem})
	ecs.NewMap1[components.Title](r.w.ECS).Add(e, &components.Title{Text: "bar"})
	r.start(t)
	r.tick(t)
	r.tick(t)
	sf := r.surfaces.Get(e)
	sf.Damage = components.Rect{X: 40, Y: 40, W: 8, H: 8}
	sf.Flags |= components.SurfaceDamaged
	r.m.Surfaces.Mark(e)
	r.sched.Tick(r.w)
	if s := r.m.Stats(); s.ComposedTiles != 1 || s.ComposedPixels != 256 {
		t.Errorf("damage of 8×8 at (40,40): %d tiles, %d pixels recomposed; want the one tile", s.ComposedTiles, s.ComposedPixels)
	}
	if r.surfaces.Get(e).Flags&components.SurfaceDamaged != 0 {
		t.Error("SurfaceDamaged not cleared")
	}
	r.sched.Tick(r.w)
	if s := r.m.Stats(); s.ComposedPixels != 0 {
		t.Errorf("the same damage was recomposed again: %d pixels", s.ComposedPixels)
	}
}

// Text is drawn, the same every time, and cut with an ellipsis where it
// does not fit.
func TestRenderTextIsDeterministicAndFits(t *testing.T) {
	bg, fg := gpu.RGBA(30, 136, 229, 255), gpu.RGBA(255, 255, 255, 255)
	a := compose.RenderText(nil, "linux  ·  presented", 160, 18, 6, fg, bg)
	b := compose.RenderText(nil, "linux  ·  presented", 160, 18, 6, fg, bg)
	if !slices.Equal(a, b) {
		t.Fatal("the same text drew differently")
	}
	ink := 0
	for _, c := range a {
		if c != bg {
			ink++
		}
	}
	if ink < 60 || ink > 160*18/2 {
		t.Errorf("%d of %d pixels inked", ink, len(a))
	}
	long := compose.RenderText(nil, strings.Repeat("very long title ", 20), 80, 18, 6, fg, bg)
	// The ellipsis keeps the right margin clear.
	for y := range 18 {
		for x := 80 - 5; x < 80; x++ {
			if long[y*80+x] != bg {
				t.Fatalf("pixel (%d,%d) of a cut title is inked: the text ran into the margin", x, y)
			}
		}
	}
}

func TestPlaceholderIsDeterministicAndTellsOwnersApart(t *testing.T) {
	rayos := compose.Placeholder(&components.Surface{}, nil)
	linux := compose.Placeholder(&components.Surface{Owner: 1}, nil)
	again := compose.Placeholder(&components.Surface{Owner: 1}, nil)
	if len(rayos) != compose.TextureWidth*compose.TextureHeight {
		t.Fatalf("%d texels", len(rayos))
	}
	if string(gpu.Bytes(linux)) != string(gpu.Bytes(again)) {
		t.Error("placeholder differs between calls")
	}
	if rayos[1+compose.TextureWidth] == linux[1+compose.TextureWidth] {
		t.Error("RayOS and guest surfaces look the same")
	}
}
