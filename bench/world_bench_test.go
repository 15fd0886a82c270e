package bench

import (
	"fmt"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
)

var sizes = []int{10_000, 100_000, 1_000_000}

// perEntity reports the cost per entity, the unit the baselines share.
func perEntity(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entity")
}

// rayWorld is RayWorld for a benchmark: a world it cannot build fails it.
func rayWorld(b *testing.B, n int) *world.World {
	b.Helper()
	w, err := RayWorld(n)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// Weights never reach the snap-to-zero floor during a run: factor 1-1e-9
// keeps the work identical on every iteration for every variant.
const factor = float32(1 - 1e-9)

func BenchmarkAttentionDecay(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("ecs/n=%d", n), func(b *testing.B) {
			w := rayWorld(b, n)
			sys := attention.NewDecay()
			if err := sys.Init(w); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				sys.Run(w)
			}
			perEntity(b, n)
		})
		b.Run(fmt.Sprintf("ecs-entity-by-entity/n=%d", n), func(b *testing.B) {
			w := rayWorld(b, n)
			f := ecs.NewFilter1[components.AttentionRay](w.ECS).Register()
			for b.Loop() {
				q := f.Query()
				for q.Next() {
					r := q.Get()
					r.Weight = decayOne(r.Weight)
				}
			}
			perEntity(b, n)
		})
		// Baseline: what a hand-written engine would keep, one dense slice
		// per component type.
		b.Run(fmt.Sprintf("slice/n=%d", n), func(b *testing.B) {
			rays := make([]components.AttentionRay, n)
			for i := range rays {
				rays[i].Weight = 1 - float32(i)/float32(n)
			}
			for b.Loop() {
				for i := range rays {
					rays[i].Weight = decayOne(rays[i].Weight)
				}
			}
			perEntity(b, n)
		})
		// Baseline: one slice per field, touching only the weights.
		b.Run(fmt.Sprintf("slice-per-field/n=%d", n), func(b *testing.B) {
			weights := make([]float32, n)
			for i := range weights {
				weights[i] = 1 - float32(i)/float32(n)
			}
			for b.Loop() {
				for i := range weights {
					weights[i] = decayOne(weights[i])
				}
			}
			perEntity(b, n)
		})
	}
}

func decayOne(w float32) float32 {
	w *= factor
	if w < 1e-3 {
		w = 0
	}
	return w
}

// idle is a system that does nothing, to measure the scheduler itself.
type idle struct{ name string }

func (s idle) Describe() world.Description { return world.Description{Name: s.name} }
func (idle) Init(*world.World) error       { return nil }
func (idle) Run(*world.World)              {}

func BenchmarkEmptyTick(b *testing.B) {
	w := world.New(world.Config{Hz: 60}, nil)
	systems := make([]world.System, 10)
	for i := range systems {
		systems[i] = idle{fmt.Sprintf("idle-%d", i)}
	}
	sched, err := world.NewScheduler(w, systems...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sched.Tick(w)
	}
}

func BenchmarkDemoTick(b *testing.B) {
	p, err := policy.Load("default", policy.Default())
	if err != nil {
		b.Fatal(err)
	}
	w, sched, err := boot.BuildWorld(world.Config{Seed: 1, Hz: 60, Scene: "demo"}, gpu.NewCPU(), p)
	if err != nil {
		b.Fatal(err)
	}
	for range 120 {
		sched.Tick(w)
	}
	b.ReportAllocs()
	for b.Loop() {
		sched.Tick(w)
	}
}
