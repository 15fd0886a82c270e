package workload_test

import (
	"bytes"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/systems/workload"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/scene"
)

// alone builds the named scene with a GPU mirror (whose observers follow
// the tasks that come and go) and a scheduler that runs only the workload
// system.
func alone(t testing.TB, name string, seed uint64) (*world.World, *world.Scheduler, *gpu.Mirror) {
	t.Helper()
	w := world.New(world.Config{Seed: seed, Hz: 60, Scene: name}, nil)
	if _, err := scene.Build(name, w); err != nil {
		t.Fatal(err)
	}
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig)
	if err != nil {
		t.Fatal(err)
	}
	s, err := world.NewScheduler(w, workload.New())
	if err != nil {
		t.Fatal(err)
	}
	return w, s, m
}

// small is a balanced world small enough to snapshot every few ticks.
var small = scene.Size{Surfaces: 4, Rays: 2, Devices: 16, Tasks: 2_000}

// pipeline builds a small balanced world with the given churn and the
// whole tick pipeline on the CPU backend, so that the churn meets the
// scheduler and its thermal model.
func pipeline(t testing.TB, seed uint64, churn scene.Churn) (*world.World, *world.Scheduler) {
	t.Helper()
	w := world.New(world.Config{Seed: seed, Hz: 60, Scene: "small"}, nil)
	scene.Balanced(w, small, churn)
	p, err := policy.Load("default", policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	policy.Install(w.ECS, p)
	s, _, err := boot.Assemble(w, gpu.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	return w, s
}

func tasks(w *world.World) map[ecs.Entity]components.ComputeTask {
	out := map[ecs.Entity]components.ComputeTask{}
	q := ecs.NewFilter1[components.ComputeTask](w.ECS).Query()
	for q.Next() {
		out[q.Entity()] = *q.Get()
	}
	return out
}

func snapshot(t *testing.T, w *world.World) string {
	t.Helper()
	var buf bytes.Buffer
	if err := w.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestTasksFinishAndArriveAroundAStablePopulation(t *testing.T) {
	w, s, _ := alone(t, "stress", 1)
	churn := ecs.GetResource[scene.Churn](w.ECS)
	first := tasks(w)
	population := len(first)
	placements := ecs.NewMap1[components.Placement](w.ECS)
	const ticks = 100
	for range ticks {
		before := churn.Finished
		s.Tick(w)
		if n := len(tasks(w)); n < population-5 || n > population+5 {
			t.Fatalf("tick %d: %d tasks, want %d ± 5", w.Clock.Tick, n, population)
		}
		if got := churn.Finished - before; got < 195 || got > 205 {
			t.Fatalf("tick %d: %d tasks finished, want 0.2 %% of %d", w.Clock.Tick, got, population)
		}
	}
	if churn.Arrived < 195*ticks || churn.Arrived > 205*ticks || churn.Finished < 195*ticks {
		t.Errorf("%d arrived and %d finished in %d ticks, want about 200 a tick each", churn.Arrived, churn.Finished, ticks)
	}
	now := tasks(w)
	survivors, arrivals := 0, 0
	for e, task := range now {
		if _, ok := first[e]; ok {
			survivors++
			continue
		}
		arrivals++
		if task.Demand < 0 || task.Demand >= 2 || task.Priority < 1 || task.Priority > 3 ||
			task.Affinity[0] < -20 || task.Affinity[0] > 20 || task.Affinity[2] < -40 || task.Affinity[2] > 0 {
			t.Fatalf("an arrival unlike the scene's tasks: %+v", task)
		}
		if p := placements.Get(e); *p != (components.Placement{}) {
			t.Fatalf("an arrival is placed before any scheduling: %+v", *p)
		}
	}
	// Each task finishes with chance 0.2 % a tick: (1 − 0.002)^100 ≈ 81.9 %
	// of the first ones are still there.
	if f := float64(survivors) / float64(population); f < 0.80 || f > 0.84 {
		t.Errorf("%.1f %% of the first tasks survived 100 ticks, want about 81.9 %%", 100*f)
	}
	if uint64(arrivals) > churn.Arrived || arrivals < population/6 {
		t.Errorf("%d tasks are new after %d arrivals", arrivals, churn.Arrived)
	}
}

// Same seed, same churn: the workload draws only from the world's RNG, so
// two worlds built and ticked alike through the whole pipeline are byte
// for byte the same, and another seed is not.
func TestChurnIsDeterministic(t *testing.T) {
	churn := scene.StressChurn
	churn.HeatChance = 0.02
	after := func(seed uint64) string {
		w, s := pipeline(t, seed, churn)
		for range 300 {
			s.Tick(w)
		}
		c := ecs.GetResource[scene.Churn](w.ECS)
		if c.Finished == 0 || c.Arrived == 0 || c.Heated == 0 {
			t.Fatalf("no churn: %+v", *c)
		}
		return snapshot(t, w)
	}
	a, b := after(5), after(5)
	if a != b {
		t.Fatal("two churning worlds from seed 5 differ after 300 ticks")
	}
	if after(6) == a {
		t.Fatal("seeds 5 and 6 churn alike")
	}
}

// Demo, desktop and overload have no Churn: the system must leave them
// exactly as they are, and not even draw from their RNG, or their runs
// would change.
func TestNothingHappensWithoutChurn(t *testing.T) {
	w, s, _ := alone(t, "desktop", 2)
	before := snapshot(t, w)
	for range 50 {
		s.Tick(w)
	}
	w.Clock.Tick = 0 // the snapshot carries the clock; only that may move
	w.Clock.SimNs = 0
	if after := snapshot(t, w); after != before {
		t.Error("the workload changed a world without churn")
	}
	fresh, _, _ := alone(t, "desktop", 2)
	if w.RNG.Uint64() != fresh.RNG.Uint64() {
		t.Error("the workload drew from the RNG of a world without churn")
	}
}

// A heat event warms its device by HeatC at once and marks it for the
// GPU; the schedule system's thermal model then relaxes it (τ = 10 s).
func TestHeatEventsWarmDevicesOnceAndTheThermalModelRelaxesThem(t *testing.T) {
	w, s, m := alone(t, "stress", 3)
	churn := ecs.GetResource[scene.Churn](w.ECS)
	churn.Finish, churn.HeatChance, churn.HeatC = 0, 0.5, 20
	if _, err := m.Sync(); err != nil { // the initial upload
		t.Fatal(err)
	}
	temperature := func() (sum float64) {
		q := ecs.NewFilter1[components.Device](w.ECS).Query()
		for q.Next() {
			sum += float64(q.Get().Temperature)
		}
		return sum
	}
	before := temperature()
	s.Tick(w)
	if churn.Heated < 16 || churn.Heated > 48 {
		t.Fatalf("%d heat events on 64 devices at a chance of 0.5", churn.Heated)
	}
	if got, want := temperature()-before, 20*float64(churn.Heated); got < want-0.01 || got > want+0.01 {
		t.Errorf("devices warmed by %v °C in all, want %v", got, want)
	}
	if _, err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := m.Stats().ColumnBytes; got == 0 || got%m.Devices.Stride() != 0 {
		t.Errorf("heated devices uploaded %d bytes, want whole devices", got)
	}

	// Through the pipeline: one event, then ten seconds without.
	quiet := scene.StressChurn
	quiet.Finish, quiet.HeatChance = 0, 0
	pw, ps := pipeline(t, 3, quiet)
	for range 3000 { // 5 τ: the devices settle at their loads' temperatures
		ps.Tick(pw)
	}
	c := ecs.GetResource[scene.Churn](pw.ECS)
	devices := ecs.NewFilter1[components.Device](pw.ECS)
	temps := func() (out []float32) {
		q := devices.Query()
		for q.Next() {
			out = append(out, q.Get().Temperature)
		}
		return out
	}
	settled := temps()
	c.HeatChance, c.HeatC = 1.0/float64(small.Devices), 20
	for c.Heated == 0 {
		ps.Tick(pw)
	}
	c.HeatChance = 0
	peak := temps()
	hot := -1
	for i := range peak {
		if peak[i]-settled[i] > 15 {
			hot = i
		}
	}
	if hot < 0 {
		t.Fatalf("no device warmed by the heat event: %v → %v", settled, peak)
	}
	for range 600 {
		ps.Tick(pw)
	}
	// One τ later, e⁻¹ of the 20 °C excess (7.4 °C) is left.
	if excess := temps()[hot] - settled[hot]; excess < 4 || excess > 11 {
		t.Errorf("heated device %v °C above where it settled ten seconds after peaking %v °C above: want about 7.4", excess, peak[hot]-settled[hot])
	}
}

// The churn of a steady world allocates nothing per tick: finished tasks'
// entities and table rows are recycled for the arrivals, and the mirror's
// observers and the scratch slices keep their storage.
func TestSteadyChurnDoesNotAllocate(t *testing.T) {
	w, s, _ := alone(t, "stress", 1)
	for range 30 {
		s.Tick(w)
	}
	if allocs := testing.AllocsPerRun(200, func() { s.Tick(w) }); allocs != 0 {
		t.Errorf("the workload system allocates %v times per tick on the stress world", allocs)
	}
}

// BenchmarkChurn is one tick of the workload system alone, with the GPU
// mirror's observers following the tasks that come and go.
func BenchmarkChurn(b *testing.B) {
	for _, name := range []string{"stress", "datacenter"} {
		b.Run(name, func(b *testing.B) {
			w, s, _ := alone(b, name, 1)
			s.Tick(w)
			b.ReportAllocs()
			for b.Loop() {
				s.Tick(w)
			}
		})
	}
}
