package gpu_test

import (
	"slices"
	"testing"

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
