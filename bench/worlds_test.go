package bench

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/attention"
)

// The world BenchmarkAttentionDecay/ecs measures must be one the real
// system runs on: a RayWorld without a GPU mirror made the benchmark fail,
// and the README's headline row disappeared from the report.
func TestRayWorldRunsTheAttentionDecaySystem(t *testing.T) {
	const n = 1000
	w, err := RayWorld(n)
	if err != nil {
		t.Fatal(err)
	}
	sys := attention.NewDecay()
	if err := sys.Init(w); err != nil {
		t.Fatalf("attention-decay does not start on RayWorld: %v", err)
	}
	before := map[ecs.Entity]float32{}
	q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	for q.Next() {
		before[q.Entity()] = q.Get().Weight
	}
	if len(before) != n {
		t.Fatalf("RayWorld(%d) holds %d rays", n, len(before))
	}
	// The system retires exactly the rays that have faded out by the
	// world's tick, and leaves the others as they are (their decay is
	// implicit): both kinds must be in the world, or the benchmark would
	// measure half the work.
	fade := attention.NewFade(w.Clock.Dt)
	sys.Run(w)
	retired, kept := 0, 0
	q = ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	for q.Next() {
		r := q.Get()
		faded := fade.Weight(before[q.Entity()], RayWorldTick-r.Since) == 0
		switch {
		case faded && r.Weight != 0, !faded && r.Weight != before[q.Entity()]:
			t.Fatalf("ray %v: weight %v (was %v, faded out: %t)", q.Entity(), r.Weight, before[q.Entity()], faded)
		case faded:
			retired++
		default:
			kept++
		}
	}
	if retired == 0 || kept == 0 {
		t.Errorf("%d rays retired, %d kept: RayWorld must hold both", retired, kept)
	}
}
