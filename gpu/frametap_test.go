package gpu_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/scene"
)

// The frame tap hands a consumer every recomposed tile once, the first
// time all of them, and the tiles put together are the composed frame.
func TestFrameTapTilesMakeTheFrame(t *testing.T) {
	w := world.New(world.Config{Seed: 1, Hz: 60, Scene: "desktop"}, nil)
	if _, err := scene.Build("desktop", w); err != nil {
		t.Fatal(err)
	}
	cfg := gpu.DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 100, 70 // edge tiles clipped both ways
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Submit(); err != nil { // the first composition, tap off
		t.Fatal(err)
	}
	if err := m.Collect(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.FrameUpdate(); ok {
		t.Fatal("an update with the tap off")
	}
	m.SetFrameTap(true)
	if err := m.Submit(); err != nil { // nothing changed: composes for the new consumer
		t.Fatal(err)
	}
	if err := m.Collect(); err != nil {
		t.Fatal(err)
	}
	u, ok := m.FrameUpdate()
	if !ok {
		t.Fatal("no update after turning the tap on")
	}
	tx, ty := gpu.TilesFor(100, 70)
	if u.TilesX != tx || u.TilesY != ty || len(u.Tiles) != tx*ty || u.Width != 100 || u.Height != 70 {
		t.Fatalf("update %dx%d tiles, %d of them, frame %dx%d", u.TilesX, u.TilesY, len(u.Tiles), u.Width, u.Height)
	}
	frame := make([]uint32, 100*70)
	if err := m.ReadFrame(frame); err != nil {
		t.Fatal(err)
	}
	for i, tile := range u.Tiles {
		x0, y0 := int(tile)%tx*gpu.TileSize, int(tile)/tx*gpu.TileSize
		for y := range gpu.TileSize {
			for x := range gpu.TileSize {
				got := u.Pixels[i*gpu.TileSize*gpu.TileSize+y*gpu.TileSize+x]
				want := uint32(0)
				if x0+x < 100 && y0+y < 70 {
					want = frame[(y0+y)*100+x0+x]
				}
				if got != want {
					t.Fatalf("tile %d pixel (%d,%d): %08x, frame %08x", tile, x, y, got, want)
				}
			}
		}
	}
	if _, ok := m.FrameUpdate(); ok {
		t.Fatal("the same update twice")
	}
}

// Turning the tap on between a Submit and its Collect is safe: the run in
// flight did not write the tap, so it hands out nothing; the next one
// hands out every tile.
func TestFrameTapTurnedOnMidRun(t *testing.T) {
	w := world.New(world.Config{Seed: 1, Hz: 60, Scene: "desktop"}, nil)
	if _, err := scene.Build("desktop", w); err != nil {
		t.Fatal(err)
	}
	cfg := gpu.DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 64, 48
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	m.SetFrameTap(true) // the first composition is in flight, without the tap
	if err := m.Collect(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.FrameUpdate(); ok {
		t.Fatal("an update from a run that did not write the tap")
	}
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := m.Collect(); err != nil {
		t.Fatal(err)
	}
	if u, ok := m.FrameUpdate(); !ok || len(u.Tiles) != 4*3 {
		t.Fatalf("after the tap came on: update %v, want all 12 tiles", ok)
	}
}

// A frame copy is taken at the next collection, not before: asking for
// one does not make results arrive earlier, and the copy is the frame.
func TestFrameCopyComesWithTheNextCollection(t *testing.T) {
	w := world.New(world.Config{Seed: 1, Hz: 60, Scene: "desktop"}, nil)
	if _, err := scene.Build("desktop", w); err != nil {
		t.Fatal(err)
	}
	cfg := gpu.DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 80, 60
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	m.RequestFrameCopy()
	if _, ok := m.FrameCopy(); ok {
		t.Fatal("a copy before any collection")
	}
	if m.ResultsTick() != 0 {
		t.Fatal("results arrived before the collection")
	}
	if err := m.Submit(); err != nil { // collects the first run, copies its frame
		t.Fatal(err)
	}
	got, ok := m.FrameCopy()
	if !ok {
		t.Fatal("no copy after the collection")
	}
	want := make([]uint32, 80*60)
	if err := m.ReadFrame(want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatal("the copy is not the composed frame")
	}
	if _, ok := m.FrameCopy(); ok {
		t.Fatal("the same copy twice")
	}
}

// Two FrameReaders on one mirror both see every composition (the viewer
// and the framebuffer display each keep a copy of the frame); one that
// skipped a composition is handed the latest update and then a whole
// frame, even when its request for one met a partial composition already
// in flight.
func TestFrameReadersFanOut(t *testing.T) {
	w := world.New(world.Config{Seed: 1, Hz: 60}, nil)
	cfg := gpu.DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 64, 48 // 4×3 tiles
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	s := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 8, H: 8}, Flags: components.SurfaceVisible})
	if err := m.SetTexture(s, 1, 1, []uint32{gpu.RGBA(200, 10, 10, 255)}); err != nil {
		t.Fatal(err)
	}
	move := func(x int32) { // damages the surface's old and new tiles only
		surfaces.Get(s).Rect.X = x
		m.Surfaces.Mark(s)
	}
	m.SetFrameTap(true)
	var a, b gpu.FrameReader
	collect := func() {
		t.Helper()
		if err := errors.Join(m.Submit(), m.Collect()); err != nil {
			t.Fatal(err)
		}
	}
	next := func(r *gpu.FrameReader, name string) (seq uint64, tiles int) {
		t.Helper()
		u, ok := r.Next(m)
		if !ok {
			return 0, 0
		}
		if again, ok := r.Next(m); ok {
			t.Fatalf("reader %s got update %d twice", name, again.Seq)
		}
		return u.Seq, len(u.Tiles)
	}
	if _, ok := m.LatestFrameUpdate(); ok {
		t.Fatal("an update before any composition")
	}
	collect()
	for _, r := range []struct {
		r    *gpu.FrameReader
		name string
	}{{&a, "a"}, {&b, "b"}} {
		if seq, n := next(r.r, r.name); seq != 1 || n != 12 {
			t.Fatalf("reader %s: first update seq %d with %d tiles, want seq 1 with all 12", r.name, seq, n)
		}
	}
	move(20) // tiles 0 and 1
	collect()
	if seq, n := next(&a, "a"); seq != 2 || n != 2 {
		t.Fatalf("reader a: seq %d with %d tiles, want seq 2 with 2", seq, n)
	}
	// b skips seq 2. The next composition is partial and is planned
	// before b notices; b's request for a whole frame comes while it is
	// in flight.
	move(40)
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := m.Collect(); err != nil {
		t.Fatal(err)
	}
	move(0) // planned before b asks: partial
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	if seq, n := next(&b, "b"); seq != 3 || n == 12 {
		t.Fatalf("reader b after a skip: seq %d with %d tiles, want the partial seq 3", seq, n)
	}
	if err := m.Collect(); err != nil { // seq 4, partial: it clears b's request
		t.Fatal(err)
	}
	if seq, n := next(&b, "b"); seq != 4 || n == 12 {
		t.Fatalf("reader b: seq %d with %d tiles, want the partial seq 4", seq, n)
	}
	collect() // nothing moved: composed only because b asked again
	if seq, n := next(&b, "b"); seq != 5 || n != 12 {
		t.Fatalf("reader b: seq %d with %d tiles, want a whole frame at seq 5", seq, n)
	}
	// a skipped 3 and 4 as well: it takes seq 5, already whole, and asks
	// for nothing more.
	if seq, n := next(&a, "a"); seq != 5 || n != 12 {
		t.Fatalf("reader a: seq %d with %d tiles, want the whole seq 5", seq, n)
	}
	collect()
	if _, ok := a.Next(m); ok {
		t.Fatal("a composition with nothing changed and nobody asking")
	}
}
