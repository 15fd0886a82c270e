package schedule_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/world"
)

func TestPlacesOnTheCheapestDeviceAndTracksLoad(t *testing.T) {
	w := world.New(world.Config{Hz: 60, Seed: 1}, nil)
	devices := ecs.NewMap1[components.Device](w.ECS)
	near := devices.NewEntity(&components.Device{Position: components.Vec3{0, 0, 0}, Capacity: 10, Temperature: 30, EnergyCost: 1})
	far := devices.NewEntity(&components.Device{Position: components.Vec3{20, 0, 0}, Capacity: 100, Temperature: 30, EnergyCost: 1})
	tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	a := tasks.NewEntity(&components.ComputeTask{Demand: 6, Priority: 1}, &components.Placement{})
	b := tasks.NewEntity(&components.ComputeTask{Demand: 6, Priority: 1}, &components.Placement{})
	huge := tasks.NewEntity(&components.ComputeTask{Demand: 500, Priority: 1}, &components.Placement{})
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
		t.Fatal(err)
	}
	sched, err := world.NewScheduler(w, schedule.New(), gpusync.NewSubmit())
	if err != nil {
		t.Fatal(err)
	}
	placements := ecs.NewMap1[components.Placement](w.ECS)
	sched.Tick(w) // no decisions yet: evaluation requested, run submitted
	sched.Tick(w) // the run is on the device, collected at the end of the tick
	if got := placements.Get(a).Device; got != 0 {
		t.Fatalf("placed before any evaluation: %d", got)
	}
	sched.Tick(w) // both tasks chose the near device; only the first fits
	if got := placements.Get(a).Device; got != near.ID() {
		t.Errorf("first task on %d, want the near device %d", got, near.ID())
	}
	// The second task also chose the near device, which the first filled:
	// it spills, in the same tick, to the cheapest neighbour with room.
	if got := placements.Get(b).Device; got != far.ID() {
		t.Errorf("second task on %d, want it spilled to the far device %d: the near device would overflow", got, far.ID())
	}
	if got := placements.Get(huge); got.Device != 0 || got.Tick != 0 {
		t.Errorf("a task that fits nowhere was placed or decided: %+v", got)
	}
	if p := placements.Get(b); p.Locality < 19.9 || p.Cost < p.Locality {
		t.Errorf("placement does not explain itself: %+v", *p)
	}
	if got := devices.Get(near).Load; got != 6 {
		t.Errorf("near load %v, want 6", got)
	}
	for i := 0; i < 600; i++ {
		sched.Tick(w)
	}
	if got := devices.Get(far).Load; got != 6 {
		t.Errorf("far load %v after 600 ticks, want 6 (no flapping)", got)
	}
	if temp := devices.Get(near).Temperature; temp < 45 || temp > 65 {
		t.Errorf("near device at 60%% load is at %v °C after 10 s, want it warming towards 60", temp)
	}
}

// Loads are kept as tasks come, move and go, without walking the tasks
// each tick: a removed task's demand leaves its device at once, and what
// the scheduler did not do itself (a placement changed behind its back)
// is corrected at the next periodic recompute.
func TestLoadsFollowTasksThatLeave(t *testing.T) {
	w := world.New(world.Config{Hz: 60, Seed: 1}, nil)
	devices := ecs.NewMap1[components.Device](w.ECS)
	dev := devices.NewEntity(&components.Device{Capacity: 100, Temperature: 30, EnergyCost: 1})
	tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	var all []ecs.Entity
	for range 5 {
		all = append(all, tasks.NewEntity(&components.ComputeTask{Demand: 10, Priority: 1}, &components.Placement{}))
	}
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
		t.Fatal(err)
	}
	sched, err := world.NewScheduler(w, schedule.New(), gpusync.NewSubmit())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sched.Tick(w)
	}
	if got := devices.Get(dev).Load; got != 50 {
		t.Fatalf("load %v after placing five tasks of 10, want 50", got)
	}
	w.ECS.RemoveEntity(all[0])
	w.ECS.RemoveEntity(all[1])
	sched.Tick(w)
	if got := devices.Get(dev).Load; got != 30 {
		t.Errorf("load %v after two tasks left, want 30", got)
	}
	// A placement undone behind the scheduler's back: the next recompute
	// (at most RebalanceTicks later) sets the load right, and the task is
	// placed again.
	*ecs.NewMap1[components.Placement](w.ECS).Get(all[2]) = components.Placement{}
	for range schedule.RebalanceTicks + 2 {
		sched.Tick(w)
	}
	if got := devices.Get(dev).Load; got != 30 {
		t.Errorf("load %v after the recompute, want 30", got)
	}
	if got := ecs.NewMap1[components.Placement](w.ECS).Get(all[2]).Device; got != dev.ID() {
		t.Errorf("the task whose placement was undone is on %d, want %d", got, dev.ID())
	}
}
