package gpu_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// Growing every column past its first buffer re-records the program, and
// the results that come back are still the ones of the right entities.
func TestMirrorGrowsAndKeepsResultsWithTheirEntities(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend.Info().Backend, func(t *testing.T) {
			w := ecs.NewWorld()
			m, err := gpu.Install(w, backend, gpu.MirrorConfig{FrameWidth: 32, FrameHeight: 16, Weights: gpu.DefaultMirrorConfig.Weights})
			if err != nil {
				t.Fatal(err)
			}
			surfaces := ecs.NewMap1[components.Surface](w)
			rays := ecs.NewMap1[components.AttentionRay](w)
			// Surfaces at x = 0, 10, 20, … ; ray i looks straight at surface i%n.
			const n = 50
			var walls []ecs.Entity
			for i := range n {
				walls = append(walls, surfaces.NewEntity(&components.Surface{
					Center: components.Vec3{float32(10 * i), 0, -2}, Right: components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0},
					HalfWidth: 1, HalfHeight: 1, Flags: components.SurfaceVisible,
				}))
			}
			var looking []ecs.Entity
			for i := range 300 {
				looking = append(looking, rays.NewEntity(&components.AttentionRay{
					Origin: components.Vec3{float32(10 * (i % n)), 0, 0}, Direction: components.Vec3{0, 0, -1}, Weight: 1,
				}))
			}
			if err := m.Submit(); err != nil {
				t.Fatal(err)
			}
			if !m.Stats().Rerecorded {
				t.Error("first submit did not record the program")
			}
			// Remove some rays and walls: slots compact, results must not
			// be attributed to the entities that moved in.
			for i := 0; i < 300; i += 7 {
				w.RemoveEntity(looking[i])
			}
			w.RemoveEntity(walls[3])
			if err := m.Collect(); err != nil {
				t.Fatal(err)
			}
			stale := 0
			for i, e := range looking {
				if !w.Alive(e) {
					continue
				}
				hit, _, ok, current := m.HitOf(e)
				if !current {
					stale++ // moved slot since the run: no result, not a wrong one
					continue
				}
				if !ok || hit != walls[i%n] {
					t.Fatalf("ray %d: result names surface %v, want %v", i, hit, walls[i%n])
				}
			}
			if stale == 0 {
				t.Error("no ray moved slot: the test does not exercise compaction")
			}
			if err := m.Submit(); err != nil {
				t.Fatal(err)
			}
			if err := m.Collect(); err != nil {
				t.Fatal(err)
			}
			for i, e := range looking {
				if !w.Alive(e) {
					continue
				}
				hit, _, ok, current := m.HitOf(e)
				want := walls[i%n]
				if i%n == 3 {
					if ok {
						t.Errorf("ray %d hit %v after its surface was removed", i, hit)
					}
					continue
				}
				if !current || !ok || hit != want {
					t.Fatalf("ray %d after resubmit: hit %v ok %v current %v, want %v", i, hit, ok, current, want)
				}
			}
			if err := m.Verify(); err != nil {
				t.Error(err)
			}
		})
	}
}

// Replacing textures with ones of other sizes, and removing surfaces, does
// not grow the atlas without bound; a recycled entity id gets no pixels of
// its predecessor.
func TestAtlasCompactsAndForgetsDeadSurfaces(t *testing.T) {
	w := ecs.NewWorld()
	m, err := gpu.Install(w, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 8, FrameHeight: 8})
	if err != nil {
		t.Fatal(err)
	}
	surfaces := ecs.NewMap1[components.Surface](w)
	a := surfaces.NewEntity(&components.Surface{})
	for size := 1; size <= 200; size++ { // a guest display changing resolution
		if err := m.SetTexture(a, size, 10, make([]uint32, size*10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	if got := m.Stats().AuxBytes; got > 3*200*10*4+4096 {
		t.Errorf("atlas upload %d bytes: the atlas kept the replaced textures", got)
	}
	b := surfaces.NewEntity(&components.Surface{})
	if err := m.SetTexture(b, 2, 2, []uint32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	w.RemoveEntity(b)
	c := surfaces.NewEntity(&components.Surface{}) // recycles b's id
	if c.ID() != b.ID() {
		t.Fatal("ark did not recycle the id; test needs updating")
	}
	if m.HasTexture(c) {
		t.Error("a recycled entity id inherited its predecessor's texture")
	}
	if !m.HasTexture(a) {
		t.Error("a live surface lost its texture")
	}
}
