package schedule_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/world"
	"pgregory.net/rapid"
)

// fabric is a world with the scheduler on the CPU backend.
type fabric struct {
	w       *world.World
	sched   *world.Scheduler
	devices []ecs.Entity
	tasks   []ecs.Entity
	devMap  *ecs.Map1[components.Device]
	pls     *ecs.Map1[components.Placement]
	taskMap *ecs.Map1[components.ComputeTask]
}

type devSpec struct {
	pos      components.Vec3
	capacity float32
	temp     float32
}

func newFabric(t testing.TB, seed uint64, devs []devSpec, demands []float32, affinity func(i int) components.Vec3, markers *bytes.Buffer) *fabric {
	w := world.New(world.Config{Hz: 60, Seed: seed}, nil)
	if markers != nil {
		w.Markers.AddSink(markers)
	}
	f := &fabric{w: w, devMap: ecs.NewMap1[components.Device](w.ECS), pls: ecs.NewMap1[components.Placement](w.ECS), taskMap: ecs.NewMap1[components.ComputeTask](w.ECS)}
	for i, d := range devs {
		f.devices = append(f.devices, f.devMap.NewEntity(&components.Device{Position: d.pos, Capacity: d.capacity, Temperature: d.temp, EnergyCost: 1, Kind: 1, Slot: uint32(i)}))
	}
	tm := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	for i, dm := range demands {
		f.tasks = append(f.tasks, tm.NewEntity(&components.ComputeTask{Affinity: affinity(i), Demand: dm, Priority: 1}, &components.Placement{}))
	}
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.sched, err = world.NewScheduler(w, schedule.New(), gpusync.NewSubmit()); err != nil {
		t.Fatal(err)
	}
	return f
}

// check asserts the invariants after a tick: no device over capacity,
// every device's load the sum of its tasks' demands.
func (f *fabric) check(t interface{ Fatalf(string, ...any) }, tick int) {
	sum := map[uint32]float32{}
	for _, e := range f.tasks {
		sum[f.pls.Get(e).Device] += f.taskMap.Get(e).Demand
	}
	for _, e := range f.devices {
		d := f.devMap.Get(e)
		if d.Load > d.Capacity*(1+1e-5) {
			t.Fatalf("tick %d: device %d load %v over capacity %v", tick, e.ID(), d.Load, d.Capacity)
		}
		if math.Abs(float64(d.Load-sum[e.ID()])) > 1e-3 {
			t.Fatalf("tick %d: device %d load %v, its tasks' demands sum to %v", tick, e.ID(), d.Load, sum[e.ID()])
		}
	}
}

func (f *fabric) placements() []uint32 {
	out := make([]uint32, len(f.tasks))
	for i, e := range f.tasks {
		out[i] = f.pls.Get(e).Device
	}
	return out
}

// PlaceWithinTicks: with unit demands and total capacity to spare, every
// task is placed within this many ticks (two ticks of pipeline latency,
// then waits of WaitTicks while devices fill).
const placeWithinTicks = 40

// Random fabrics and task streams: capacity is never exceeded, loads are
// the sums of placements, every task is placed within placeWithinTicks
// when capacity allows, and the same seed and inputs give the same
// placements.
func TestInvariantsOnRandomFabrics(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		nd := rapid.IntRange(1, 20).Draw(rt, "devices")
		devs := make([]devSpec, nd)
		total := 0
		for i := range devs {
			c := rapid.IntRange(1, 12).Draw(rt, "capacity")
			total += c
			devs[i] = devSpec{pos: components.Vec3{float32(rapid.IntRange(-10, 10).Draw(rt, "x")), 0, float32(rapid.IntRange(-10, 10).Draw(rt, "z"))}, capacity: float32(c), temp: 40}
		}
		nt := rapid.IntRange(0, total).Draw(rt, "tasks")
		demands := make([]float32, nt)
		aff := make([]components.Vec3, nt)
		for i := range demands {
			demands[i] = 1
			aff[i] = components.Vec3{float32(rapid.IntRange(-12, 12).Draw(rt, "ax")), 0, float32(rapid.IntRange(-12, 12).Draw(rt, "az"))}
		}
		seed := rapid.Uint64().Draw(rt, "seed")
		run := func() []uint32 {
			f := newFabric(t, seed, devs, demands, func(i int) components.Vec3 { return aff[i] }, nil)
			for tick := range placeWithinTicks {
				f.sched.Tick(f.w)
				f.check(rt, tick)
			}
			return f.placements()
		}
		a := run()
		for i, d := range a {
			if d == 0 {
				rt.Fatalf("task %d unplaced after %d ticks though %d units of capacity hold %d tasks", i, placeWithinTicks, total, nt)
			}
		}
		if b := run(); fmt.Sprint(a) != fmt.Sprint(b) {
			rt.Fatalf("same seed and inputs, different placements:\n%v\n%v", a, b)
		}
	})
}

// A load shock — every task's data next to one device of a close group —
// is diffused: the imbalance (the largest load fraction less the mean)
// falls to within the band (OverloadMargin plus one task's share) within
// a bounded number of ticks, never grows by more than one task's share
// from tick to tick, and no task goes A → B → A within HoldTicks.
func TestDiffusionConvergesWithoutOscillation(t *testing.T) {
	var devs []devSpec
	for i := range 8 {
		devs = append(devs, devSpec{pos: components.Vec3{float32(i) * 0.2, 0, 0}, capacity: 40, temp: 40})
	}
	demands := make([]float32, 120)
	for i := range demands {
		demands[i] = 1
	}
	f := newFabric(t, 7, devs, demands, func(int) components.Vec3 { return components.Vec3{} }, nil)
	type move struct {
		from, to uint32
		tick     int
	}
	last := map[ecs.Entity]move{}
	imbalance := func() float64 {
		var load, capacity, top float64
		for _, e := range f.devices {
			d := f.devMap.Get(e)
			load, capacity = load+float64(d.Load), capacity+float64(d.Capacity)
			top = max(top, float64(d.Load/d.Capacity))
		}
		return top - load/capacity
	}
	step := 1.0 / 40
	prev, converged := math.Inf(1), -1
	for tick := range 600 {
		before := f.placements()
		f.sched.Tick(f.w)
		f.check(t, tick)
		for i, e := range f.tasks {
			now := f.pls.Get(e).Device
			if before[i] == 0 || now == before[i] {
				continue
			}
			if m, ok := last[e]; ok && m.from == now && tick-m.tick < schedule.HoldTicks {
				t.Fatalf("task %d went %d → %d at tick %d and back at tick %d", i, m.from, m.to, m.tick, tick)
			}
			last[e] = move{before[i], now, tick}
		}
		imb := imbalance()
		if tick > 3 && imb > prev+step+1e-6 {
			t.Errorf("tick %d: imbalance grew from %.3f to %.3f", tick, prev, imb)
		}
		if tick > 3 {
			prev = imb
		}
		if converged < 0 && tick > 3 && imb <= schedule.OverloadMargin+step+1e-6 {
			converged = tick
		}
	}
	if converged < 0 || converged > 60 {
		t.Fatalf("imbalance %.3f after 600 ticks, converged at tick %d; want within the band by tick 60", imbalance(), converged)
	}
	t.Logf("converged at tick %d, final imbalance %.3f", converged, imbalance())
}

// A device above the thermal threshold sheds its tasks to its neighbours
// and takes none until it has cooled below threshold − hysteresis; every
// move of a named task is a RAYOS_SCHED marker and a Migration with its
// runner-up.
func TestThermalSheddingAndNamedMigrations(t *testing.T) {
	var markers bytes.Buffer
	devs := []devSpec{{capacity: 10, temp: 40}, {pos: components.Vec3{0.5, 0, 0}, capacity: 10, temp: 40}}
	f := newFabric(t, 3, devs, []float32{1, 1, 1}, func(int) components.Vec3 { return components.Vec3{} }, &markers)
	names := ecs.NewMap1[components.TaskName](f.w.ECS)
	names.Add(f.tasks[0], &components.TaskName{Text: "linux/vcpu0"})
	ecs.NewMap1[components.FabricNode](f.w.ECS).Add(f.devices[0], &components.FabricNode{Name: "cpu0", CPU: 0})
	for range 4 {
		f.sched.Tick(f.w)
	}
	hotDev := f.devices[0]
	for _, e := range f.tasks {
		if got := f.pls.Get(e).Device; got != hotDev.ID() {
			t.Fatalf("task on %d before the heat, want all on the nearest device %d", got, hotDev.ID())
		}
	}
	if !strings.Contains(markers.String(), "RAYOS_SCHED:linux/vcpu0:-->cpu0:placed\n") {
		t.Errorf("no placement marker for the named task; markers:\n%s", markers.String())
	}
	f.devMap.Get(hotDev).Temperature = schedule.ThermalThresholdC + 5
	f.sched.Tick(f.w)
	for i, e := range f.tasks {
		if got := f.pls.Get(e).Device; got == hotDev.ID() {
			t.Errorf("task %d still on the hot device", i)
		}
	}
	want := fmt.Sprintf("RAYOS_SCHED:linux/vcpu0:cpu0->dev%d:thermal\n", f.devices[1].ID())
	if !strings.Contains(markers.String(), want) {
		t.Errorf("no %q marker; markers:\n%s", want, markers.String())
	}
	m := ecs.NewMap1[components.Migration](f.w.ECS).Get(f.tasks[0])
	if m.Reason != components.ReasonThermal || m.From != hotDev.ID() || m.RunnerUp != hotDev.ID() || m.RunnerUpCost <= 0 {
		t.Errorf("migration %+v, want thermal from %d with the hot device as runner-up", *m, hotDev.ID())
	}
	res := ecs.NewResource[components.SchedStats](f.w.ECS)
	stats := res.Get()
	if stats.Total[components.ReasonThermal] != 3 || stats.Total[components.ReasonPlaced] != 3 {
		t.Errorf("stats %+v, want 3 placed and 3 thermal", stats.Total)
	}
	// Still warm (below the threshold, above threshold − hysteresis): no
	// work comes back, even after the hold.
	for range schedule.HoldTicks + schedule.RebalanceTicks {
		f.devMap.Get(hotDev).Temperature = schedule.ThermalThresholdC - schedule.ThermalHysteresisC/2
		f.sched.Tick(f.w)
	}
	if got := f.devMap.Get(hotDev).Load; got != 0 {
		t.Errorf("a device not yet cooled took work back: load %v", got)
	}
}
