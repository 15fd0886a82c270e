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

// fade is the system's decay table at the RayWorld's 60 Hz. Every variant
// does the system's work per ray with it at the RayWorld's tick: find the
// weight the ray has faded to since its gaze, retire it at 0 when it has
// faded out, and note whether any did (the system needs that to mark the
// GPU mirror). Rays that fade out do so in the first iteration in every
// variant alike, so the work stays the same across variants.
var fade = attention.NewFade(time.Second / 60)

// changedSink keeps the compiler from dropping the change tracking.
var changedSink bool

// rayFields are RayWorld(n)'s rays in iteration order, whole and as one
// slice per field, for the baselines: the same values in the same order
// give every variant the same branches to predict.
func rayFields(b *testing.B, n int) (rays []components.AttentionRay, weights []float32, since []uint32) {
	w := rayWorld(b, n)
	q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	for q.NextTable() {
		for _, r := range q.GetColumns() {
			rays = append(rays, r)
			weights = append(weights, r.Weight)
			since = append(since, r.Since)
		}
	}
	return rays, weights, since
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
				changedSink = expireEntityByEntity(f, RayWorldTick)
			}
			perEntity(b, n)
		})
		// Baseline: what a hand-written engine would keep, one dense slice
		// per component type, run through the system's own loop body.
		b.Run(fmt.Sprintf("slice/n=%d", n), func(b *testing.B) {
			rays, _, _ := rayFields(b, n)
			for b.Loop() {
				changedSink = attention.ExpireWeights(rays, RayWorldTick, fade)
			}
			perEntity(b, n)
		})
		// Baseline: one slice per field, touching only weights and ticks.
		b.Run(fmt.Sprintf("slice-per-field/n=%d", n), func(b *testing.B) {
			_, weights, since := rayFields(b, n)
			for b.Loop() {
				changedSink = expireFields(weights, since, RayWorldTick)
			}
			perEntity(b, n)
		})
	}
}

// expireEntityByEntity is the system's loop through ark's per-entity
// query instead of its table columns.
func expireEntityByEntity(f *ecs.Filter1[components.AttentionRay], tick uint32) bool {
	changed := false
	q := f.Query()
	for q.Next() {
		r := q.Get()
		if r.Weight != 0 && fade.Weight(r.Weight, tick-r.Since) == 0 {
			r.Weight = 0
			changed = true
		}
	}
	return changed
}

// expireFields is attention.ExpireWeights over one slice per field. The
// baselines' loops are functions of their own, as the system's loop is:
// the same loop written inline in the benchmark's closure measured up to
// 1.6× slower here, an artefact of code layout, not of the data.
func expireFields(weights []float32, since []uint32, tick uint32) bool {
	changed := false
	for i := range weights {
		if weights[i] != 0 && fade.Weight(weights[i], tick-since[i]) == 0 {
			weights[i] = 0
			changed = true
		}
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

// warmWorld builds a scene's world with the full pipeline under the
// default policy on the CPU backend, and ticks it two seconds in, past
// the start-up (guests starting, the first compositions).
func warmWorld(b *testing.B, sceneName string) (*world.World, *world.Scheduler) {
	b.Helper()
	p, err := policy.Load("default", policy.Default())
	if err != nil {
		b.Fatal(err)
	}
	w, sched, err := boot.BuildWorld(world.Config{Seed: 1, Hz: 60, Scene: sceneName}, gpu.NewCPU(), p)
	if err != nil {
		b.Fatal(err)
	}
	for range 120 {
		sched.Tick(w)
	}
	return w, sched
}

func BenchmarkDemoTick(b *testing.B) {
	w, sched := warmWorld(b, "demo")
	b.ReportAllocs()
	for b.Loop() {
		sched.Tick(w)
	}
}
