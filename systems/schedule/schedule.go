package schedule

import (
	"math"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Thermal model: a device relaxes towards ambient + heatAtFull × load
// fraction with time constant thermalTau, plus seeded sensor noise.
const (
	ambientC    = 30
	heatAtFullC = 50
	thermalTau  = 10 * time.Second
	noiseC      = 0.05
)

// RebalanceTicks is how often every task is re-evaluated; in between only
// unplaced tasks are placed. A placed task moves only when the new device
// costs at most rebalanceGain × its current one, so tasks do not flap
// between near-equal devices.
const (
	RebalanceTicks = 60
	rebalanceGain  = 0.9
)

// System applies the place kernel's choices and moves device load and
// temperature. The kernel evaluates every task against every device in
// parallel with the loads of the previous tick; this system then applies
// the choices in task order, re-checking capacity against what it already
// moved this tick, so two tasks never overfill a device. A task that lost
// that race is placed from the next tick's evaluation.
type System struct {
	mirror     *gpu.Mirror
	tasks      *ecs.Filter2[components.ComputeTask, components.Placement]
	devices    *ecs.Filter1[components.Device]
	deviceData *ecs.Map1[components.Device]

	scratch []device
	alpha   float32
}

// device is the scheduler's working copy of one Device.
type device struct {
	entity ecs.Entity
	dev    components.Device
}

// New returns the scheduler.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "schedule",
		Purpose: "apply the place kernel's choices (unplaced tasks every tick, all tasks every 60 ticks) where they still fit; update device load and temperature",
		Reads:   []string{"ComputeTask", "Mirror placement choices", "Clock", "RNG"},
		Writes:  []string{"Placement", "Device.Load", "Device.Temperature", "Mirror requests"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.tasks = ecs.NewFilter2[components.ComputeTask, components.Placement](w.ECS).Register()
	s.devices = ecs.NewFilter1[components.Device](w.ECS).Register()
	s.deviceData = ecs.NewMap1[components.Device](w.ECS)
	s.alpha = float32(1 - math.Exp(-w.Clock.Dt.Seconds()/thermalTau.Seconds()))
	s.mirror, err = gpu.MirrorOf(w.ECS, "schedule")
	return err
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.scratch = s.scratch[:0]
	dq := s.devices.Query()
	for dq.Next() {
		d := device{entity: dq.Entity(), dev: *dq.Get()}
		d.dev.Load = 0
		s.scratch = append(s.scratch, d)
	}
	if len(s.scratch) == 0 {
		return
	}
	// Loads as the placements stand, before this tick's moves.
	tq := s.tasks.Query()
	for tq.Next() {
		task, pl := tq.Get()
		if d := s.find(pl.Device); d != nil {
			d.dev.Load += task.Demand
		}
	}

	tick := w.Clock.Tick
	rebalance := tick%RebalanceTicks == 0
	unplaced := false
	tq = s.tasks.Query()
	for tq.Next() {
		task, pl := tq.Get()
		current := s.find(pl.Device)
		if current != nil && !rebalance {
			continue
		}
		if !s.apply(tq.Entity(), task, pl, current, uint32(tick)) && current == nil {
			unplaced = true
		}
	}
	// Ask for choices when the next tick will apply them.
	s.mirror.PlaceRequested = unplaced || (tick+1)%RebalanceTicks == 0

	for i := range s.scratch {
		d := &s.scratch[i]
		target := ambientC + heatAtFullC*d.dev.Load/d.dev.Capacity
		noise := float32(w.RNG.Float64()*2-1) * noiseC
		d.dev.Temperature += (target-d.dev.Temperature)*s.alpha + noise
		stored := s.deviceData.Get(d.entity)
		if *stored != d.dev {
			*stored = d.dev
			s.mirror.Devices.Mark(d.entity)
		}
	}
}

// apply carries out the kernel's choice for one task and reports whether
// the task ends the tick placed.
func (s *System) apply(e ecs.Entity, task *components.ComputeTask, pl *components.Placement, current *device, tick uint32) bool {
	choice, ok := s.mirror.ChoiceOf(e)
	if !ok {
		return current != nil // no evaluation of this task yet
	}
	target := s.find(choice.Device.ID())
	if target == nil || target.entity != choice.Device {
		if current == nil {
			*pl = components.Placement{Tick: tick} // fits nowhere (yet)
		}
		return current != nil
	}
	if current == target {
		return true
	}
	if current != nil && choice.Stay >= 0 && choice.Terms.Cost >= choice.Stay*rebalanceGain {
		return true // not worth the move
	}
	if target.dev.Load+task.Demand > target.dev.Capacity {
		return current != nil // another task took the room first this tick
	}
	if current != nil {
		current.dev.Load -= task.Demand
	}
	target.dev.Load += task.Demand
	*pl = choice.Terms
	pl.Device, pl.Tick = target.entity.ID(), tick
	return true
}

func (s *System) find(id uint32) *device {
	if id == 0 {
		return nil
	}
	for i := range s.scratch {
		if s.scratch[i].entity.ID() == id {
			return &s.scratch[i]
		}
	}
	return nil
}
