package bench

import (
	"fmt"
	"testing"
	"time"

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

// factor is the system's per-tick decay at the RayWorld's 60 Hz. Every
// variant does the system's work per ray with it: decay, snap a faded
// weight to 0, and note whether any weight changed (the system needs that
// to mark the GPU mirror). Weights reach 0 after a few hundred iterations
// in every variant alike, so the work stays the same across variants.
// (The baselines once multiplied by float32(1-1e-9), which is exactly 1,
// and skipped the change tracking the system had gained: they measured
// less work than the system does.)
var factor = attention.DecayFactor(time.Second / 60)

// changedSink keeps the compiler from dropping the change tracking.
var changedSink bool

// rayWeights are the initial weights of RayWorld(n)'s rays in iteration
// order, for the baselines: the same values in the same order give every
// variant the same branches to predict. (Weights sorted by index, as the
// baselines once had, cross the snap-to-zero floor in order and predict
// perfectly, while the world's random ones do not: at 1M rays, where a run
// is a few hundred iterations, that alone made the system look 1.7× the
// baseline.)
func rayWeights(b *testing.B, n int) []float32 {
	w := rayWorld(b, n)
	weights := make([]float32, 0, n)
	q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	for q.NextTable() {
		for _, r := range q.GetColumns() {
			weights = append(weights, r.Weight)
		}
	}
	return weights
}

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
				changedSink = decayEntityByEntity(f, factor)
			}
			perEntity(b, n)
		})
		// Baseline: what a hand-written engine would keep, one dense slice
		// per component type, run through the system's own loop body.
		b.Run(fmt.Sprintf("slice/n=%d", n), func(b *testing.B) {
			rays := make([]components.AttentionRay, n)
			for i, wgt := range rayWeights(b, n) {
				rays[i].Weight = wgt
			}
			for b.Loop() {
				changedSink = attention.DecayWeights(rays, factor)
			}
			perEntity(b, n)
		})
		// Baseline: one slice per field, touching only the weights.
		b.Run(fmt.Sprintf("slice-per-field/n=%d", n), func(b *testing.B) {
			weights := rayWeights(b, n)
			for b.Loop() {
				changedSink = decayWeightsField(weights, factor)
			}
			perEntity(b, n)
		})
	}
}

// decayOne is attention.DecayWeights for one weight (its floor, 1e-3, is
// the system's minWeight).
func decayOne(w, factor float32) float32 {
	w *= factor
	if w < 1e-3 {
		w = 0
	}
	return w
}

// decayEntityByEntity is the system's loop through ark's per-entity
// query instead of its table columns.
func decayEntityByEntity(f *ecs.Filter1[components.AttentionRay], factor float32) bool {
	changed := false
	q := f.Query()
	for q.Next() {
		r := q.Get()
		old := r.Weight
		wgt := decayOne(old, factor)
		r.Weight = wgt
		changed = changed || wgt != old
	}
	return changed
}

// decayWeightsField is attention.DecayWeights over a []float32 of weights.
// The baselines' loops are functions of their own, as the system's loop
// is: the same loop written inline in the benchmark's closure measured up
// to 1.6× slower here, an artefact of code layout, not of the data.
func decayWeightsField(weights []float32, factor float32) bool {
	changed := false
	for i := range weights {
		old := weights[i]
		wgt := decayOne(old, factor)
		weights[i] = wgt
		changed = changed || wgt != old
	}
	return changed
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
