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
	sys.Run(w)
	q = ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	for q.Next() {
		if old, now := before[q.Entity()], q.Get().Weight; now >= old && old > 0 {
			t.Fatalf("ray %v: weight %v did not decay (was %v)", q.Entity(), now, old)
		}
	}
}
