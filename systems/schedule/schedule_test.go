package schedule_test

import (
	"math"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/world"
)

func TestTermsAreNamedAndSumToCost(t *testing.T) {
	task := components.ComputeTask{Affinity: components.Vec3{3, 4, 0}, Demand: 10, Priority: 2}
	dev := components.Device{Capacity: 100, Load: 30, Temperature: 70, EnergyCost: 2}
	p, ok := schedule.Terms(schedule.DefaultWeights, &task, &dev)
	if !ok {
		t.Fatal("task does not fit")
	}
	want := components.Placement{Locality: 5, Load: 4 * 0.4, Thermal: 2 * 15.0 / 30, Energy: 0.5 * 2 * 10 / 8, Priority: 1 * 1 * 0.3}
	want.Cost = want.Locality + want.Load + want.Thermal + want.Energy + want.Priority
	for name, pair := range map[string][2]float32{
		"locality": {p.Locality, want.Locality}, "load": {p.Load, want.Load}, "thermal": {p.Thermal, want.Thermal},
		"energy": {p.Energy, want.Energy}, "priority": {p.Priority, want.Priority}, "cost": {p.Cost, want.Cost},
	} {
		if math.Abs(float64(pair[0]-pair[1])) > 1e-5 {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	dev.Load = 95
	if _, ok := schedule.Terms(schedule.DefaultWeights, &task, &dev); ok {
		t.Error("a task that overflows the device was accepted")
	}
	task.Class = 1 << 2
	dev.Load, dev.Kind = 0, 0
	if _, ok := schedule.Terms(schedule.DefaultWeights, &task, &dev); ok {
		t.Error("a task of another class was accepted")
	}
}

func TestPlacesOnTheCheapestDeviceAndTracksLoad(t *testing.T) {
	w := world.New(world.Config{Hz: 60, Seed: 1}, nil)
	devices := ecs.NewMap1[components.Device](w.ECS)
	near := devices.NewEntity(&components.Device{Position: components.Vec3{0, 0, 0}, Capacity: 10, Temperature: 30, EnergyCost: 1})
	far := devices.NewEntity(&components.Device{Position: components.Vec3{20, 0, 0}, Capacity: 100, Temperature: 30, EnergyCost: 1})
	tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	a := tasks.NewEntity(&components.ComputeTask{Demand: 6, Priority: 1}, &components.Placement{})
	b := tasks.NewEntity(&components.ComputeTask{Demand: 6, Priority: 1}, &components.Placement{})
	huge := tasks.NewEntity(&components.ComputeTask{Demand: 500, Priority: 1}, &components.Placement{})
	sched, err := world.NewScheduler(w, schedule.New())
	if err != nil {
		t.Fatal(err)
	}
	sched.Tick(w)
	placements := ecs.NewMap1[components.Placement](w.ECS)
	if got := placements.Get(a).Device; got != near.ID() {
		t.Errorf("first task on %d, want the near device %d", got, near.ID())
	}
	if got := placements.Get(b).Device; got != far.ID() {
		t.Errorf("second task on %d, want the far device %d (near is full)", got, far.ID())
	}
	if got := placements.Get(huge); got.Device != 0 || got.Tick != 1 {
		t.Errorf("a task that fits nowhere was placed: %+v", got)
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
