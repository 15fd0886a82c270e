package compose_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/compose"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/world"
)

func TestEverySurfaceGetsPixelsAndAppearsInTheFrame(t *testing.T) {
	w := world.New(world.Config{Hz: 60}, nil)
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	panel := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 8, H: 4}, Flags: components.SurfaceVisible})
	cfg := gpu.MirrorConfig{FrameWidth: 16, FrameHeight: 8, Background: gpu.RGBA(1, 2, 3, 255)}
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := world.NewScheduler(w, compose.New(), gpusync.NewSubmit())
	if err != nil {
		t.Fatal(err)
	}
	sched.Tick(w)
	if !m.HasTexture(panel) {
		t.Fatal("the surface got no texture")
	}
	frame := make([]uint32, 16*8)
	if err := m.ReadFrame(frame); err != nil {
		t.Fatal(err)
	}
	border := gpu.Blend(gpu.RGBA(230, 235, 245, 255), cfg.Background)
	if frame[0] != border || frame[15] != cfg.Background {
		t.Errorf("frame corner %08x (want the panel border %08x), right edge %08x (want background)", frame[0], border, frame[15])
	}
	// A guest desktop appears once it is visible; nothing else re-composes.
	guest := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 8, Y: 4, W: 8, H: 4}, Owner: 1})
	sched.Tick(w)
	if !m.Stats().Composed {
		t.Error("a new surface did not trigger a compose")
	}
	sched.Tick(w)
	if m.Stats().Composed {
		t.Error("an unchanged world composed again")
	}
	surfaces.Get(guest).Flags = components.SurfaceVisible
	m.Surfaces.Mark(guest)
	sched.Tick(w)
	sched.Tick(w)
	_ = m.ReadFrame(frame)
	if got := frame[8*16-1]; got == cfg.Background {
		t.Error("the presented guest desktop is not in the frame")
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
