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
	sched, err := world.NewScheduler(w, gpusync.NewCollect(), schedule.New(), gpusync.NewSubmit())
	if err != nil {
		t.Fatal(err)
	}
	placements := ecs.NewMap1[components.Placement](w.ECS)
	sched.Tick(w) // no choices yet: evaluation requested
	if got := placements.Get(a).Device; got != 0 {
		t.Fatalf("placed before any evaluation: %d", got)
	}
	sched.Tick(w) // both tasks chose the near device; only the first fits
	if got := placements.Get(a).Device; got != near.ID() {
		t.Errorf("first task on %d, want the near device %d", got, near.ID())
	}
	if got := placements.Get(b).Device; got != 0 {
		t.Errorf("second task placed on %d in the same tick: the near device would overflow", got)
	}
	if got := placements.Get(huge); got.Device != 0 || got.Tick != 2 {
		t.Errorf("a task that fits nowhere: %+v", got)
	}
	sched.Tick(w) // re-evaluated against the new load
	if got := placements.Get(b).Device; got != far.ID() {
		t.Errorf("second task on %d, want the far device %d", got, far.ID())
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
