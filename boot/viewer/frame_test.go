package viewer_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// converge ticks the world until the client has been sent the frame of
// a state at least ticks later than now, then stops ticking.
func converge(t *testing.T, h *harness, c *client, ticks uint64) *viewer.State {
	t.Helper()
	from := h.w.Clock.Tick
	h.start()
	defer h.stop()
	return c.awaitState("the frame of the last state", func(st *viewer.State) bool {
		return st.Tick >= from+ticks && st.Frame.Version > 0 && c.version == st.Frame.Version
	})
}

// frameOf reads the compositor's last frame. (It collects the run in
// flight early, which changes the results the next tick reads: fine in a
// test of frames, never in a running world.)
func frameOf(t *testing.T, m *gpu.Mirror) []uint32 {
	t.Helper()
	cfg := m.Config()
	texels := make([]uint32, cfg.FrameWidth*cfg.FrameHeight)
	if err := m.ReadFrame(texels); err != nil {
		t.Fatal(err)
	}
	return texels
}

func sameFrame(a, b []uint32) (int, bool) {
	if len(a) != len(b) {
		return -1, false
	}
	for i := range a {
		if a[i] != b[i] {
			return i, false
		}
	}
	return 0, true
}

// settled ticks until the client's frame is the composed frame: a world
// that just started, or where a window moved, may still recompose (the
// focus follows the gaze, two ticks behind), so the comparison is made
// once the frame has stopped changing.
func settled(t *testing.T, h *harness, c *client) {
	t.Helper()
	var at int
	for range 50 {
		converge(t, h, c, 3)
		want := frameOf(t, h.mirror)
		var same bool
		if at, same = sameFrame(c.frame, want); same {
			return
		}
	}
	t.Fatalf("the client's frame never settled on the composed frame (last difference at pixel %d of %d)", at, len(c.frame))
}

// The frame a client builds from the binary messages is the composed
// frame, pixel for pixel, on the CPU backend and on Vulkan (lavapipe
// here); when a window moves, only the tiles that changed travel, and the
// client's frame is the composed one again.
func TestClientFrameIsTheComposedFrame(t *testing.T) {
	vk, err := gpu.NewVulkan()
	if err != nil {
		t.Fatalf("Vulkan backend: %v (run `make deps`)", err)
	}
	t.Cleanup(func() { vk.Close() })
	for _, backend := range []gpu.Backend{gpu.NewCPU(), vk} {
		t.Run(backend.Info().Backend, func(t *testing.T) { clientFrameIsTheComposedFrame(t, backend) })
	}
}

func clientFrameIsTheComposedFrame(t *testing.T, backend gpu.Backend) {
	h := newHarnessOn(t, "desktop", viewer.Config{}, backend)
	c := dial(t, h.srv, "")
	st := converge(t, h, c, 5)
	if c.width != 1920 || c.height != 1080 || st.Frame.Width != 1920 {
		t.Fatalf("frame %d×%d, state says %v", c.width, c.height, st.Frame)
	}
	settled(t, h, c)
	keyframe := c.deltas[0]
	tx, ty := gpu.TilesFor(1920, 1080)
	if keyframe != tx*ty {
		t.Errorf("first frame message has %d tiles, want every tile (%d)", keyframe, tx*ty)
	}

	// Move one window (a RayOS window of the grid) by 40 pixels.
	q := ecs.NewFilter1[components.Surface](h.w.ECS).Query()
	var moved ecs.Entity
	for q.Next() {
		if s := q.Get(); s.Flags&components.SurfaceVisible != 0 && s.Rect.W < 600 {
			moved = q.Entity()
			q.Close()
			break
		}
	}
	if moved.IsZero() {
		t.Fatal("no visible window in the desktop world")
	}
	s := ecs.NewMap1[components.Surface](h.w.ECS).Get(moved)
	s.Rect.X += 40
	h.mirror.Surfaces.Mark(moved)
	before := len(c.deltas)
	settled(t, h, c)
	sent := 0
	for _, n := range c.deltas[before:] {
		sent += n
	}
	if sent == 0 || sent >= tx*ty {
		t.Errorf("moving one window sent %d tiles, want some but fewer than the %d of the frame", sent, tx*ty)
	}
}

// A client that turns frames off gets none; turning them on again
// brings the whole frame.
func TestFramesCanBeTurnedOff(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	c := dial(t, h.srv, "")
	off := false
	c.send(viewer.Inbound{T: viewer.InFrames, On: &off})
	c.awaitType(viewer.OutHello)
	h.start()
	first := c.awaitState("a state with a frame", func(st *viewer.State) bool { return st.Frame.Version > 0 })
	c.awaitState("a later state", func(st *viewer.State) bool { return st.Tick > first.Tick })
	h.stop()
	if len(c.deltas) != 0 {
		t.Fatalf("%d frame messages with frames off", len(c.deltas))
	}
	on := true
	c.send(viewer.Inbound{T: viewer.InFrames, On: &on})
	converge(t, h, c, 1)
	tx, ty := gpu.TilesFor(1920, 1080)
	if len(c.deltas) == 0 || c.deltas[0] != tx*ty {
		t.Errorf("frames on again: %v tiles, want a keyframe of %d", c.deltas, tx*ty)
	}
}
