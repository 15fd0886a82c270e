package schedule

import (
	"math"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// Weights scale the cost terms. They are the knobs of the scheduler; the
// defaults make one metre of distance cost as much as a device going from
// idle to full.
type Weights struct {
	Locality, Load, Thermal, Energy, Priority float32
}

// DefaultWeights are used by New.
var DefaultWeights = Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1}

// Thermal model: a device relaxes towards ambient + heatAtFull × load
// fraction with time constant thermalTau; thermalKnee is where heat starts
// to cost.
const (
	ambientC     = 30
	heatAtFullC  = 50
	thermalTau   = 10 * time.Second
	thermalKnee  = 55
	thermalRange = 30
	// noiseC is the amplitude of the seeded sensor noise added each tick.
	noiseC = 0.05
)

// RebalanceTicks is how often every task is re-evaluated; in between only
// new (unplaced) tasks are placed. Moving requires a gain of at least
// rebalanceGain, so tasks do not flap between near-equal devices.
const (
	RebalanceTicks = 60
	rebalanceGain  = 0.9
)

// Terms computes the named cost terms of putting task on dev, whose load
// excludes task's own demand. ok is false when the task does not fit or the
// device's kind does not match the task's class.
func Terms(wt Weights, task *components.ComputeTask, dev *components.Device) (p components.Placement, ok bool) {
	if task.Class != 0 && task.Class&(1<<dev.Kind) == 0 {
		return p, false
	}
	after := (dev.Load + task.Demand) / dev.Capacity
	if after > 1 {
		return p, false
	}
	prio := max(task.Priority, 1)
	dx, dy, dz := task.Affinity[0]-dev.Position[0], task.Affinity[1]-dev.Position[1], task.Affinity[2]-dev.Position[2]
	p.Locality = wt.Locality * float32(math.Sqrt(float64(dx*dx+dy*dy+dz*dz)))
	p.Load = wt.Load * after
	p.Thermal = wt.Thermal * max(0, dev.Temperature-thermalKnee) / thermalRange
	p.Energy = wt.Energy * dev.EnergyCost * task.Demand / 8
	// Priority: important tasks pay more for a busy device, so they end up
	// where they will be served first.
	p.Priority = wt.Priority * (prio - 1) * dev.Load / dev.Capacity
	p.Cost = p.Locality + p.Load + p.Thermal + p.Energy + p.Priority
	return p, true
}

// System places tasks and moves device load and temperature.
type System struct {
	weights Weights
	tasks   *ecs.Filter2[components.ComputeTask, components.Placement]
	devices *ecs.Filter1[components.Device]
	devMap  *ecs.Map1[components.Device]

	scratch []device
	alpha   float32
}

// device is the scheduler's working copy of one Device.
type device struct {
	entity ecs.Entity
	dev    components.Device
}

// New returns the scheduler with DefaultWeights.
func New() *System { return &System{weights: DefaultWeights} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "schedule",
		Purpose: "place unplaced tasks (all tasks every 60 ticks) on the device with the lowest sum of locality, load, thermal, energy and priority costs; update device load and temperature",
		Reads:   []string{"ComputeTask", "Clock", "RNG"},
		Writes:  []string{"Placement", "Device.Load", "Device.Temperature"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) error {
	s.tasks = ecs.NewFilter2[components.ComputeTask, components.Placement](w.ECS).Register()
	s.devices = ecs.NewFilter1[components.Device](w.ECS).Register()
	s.devMap = ecs.NewMap1[components.Device](w.ECS)
	s.alpha = float32(1 - math.Exp(-w.Clock.Dt.Seconds()/thermalTau.Seconds()))
	return nil
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

	tick := w.Clock.Tick
	rebalance := tick%RebalanceTicks == 0
	tq := s.tasks.Query()
	for tq.Next() {
		task, pl := tq.Get()
		current := s.find(pl.Device)
		if current != nil && !rebalance {
			current.dev.Load += task.Demand
			continue
		}
		best, choice := s.choose(task)
		switch {
		case best == nil && current != nil:
			current.dev.Load += task.Demand // nowhere better: stay
		case best == nil:
			*pl = components.Placement{Tick: uint32(tick)} // fits nowhere yet
		case current != nil && current != best:
			if stay, ok := Terms(s.weights, task, &current.dev); ok && choice.Cost >= stay.Cost*rebalanceGain {
				current.dev.Load += task.Demand
				continue
			}
			fallthrough
		default:
			best.dev.Load += task.Demand
			choice.Device, choice.Tick = best.entity.ID(), uint32(tick)
			*pl = choice
		}
	}

	for i := range s.scratch {
		d := &s.scratch[i]
		target := ambientC + heatAtFullC*d.dev.Load/d.dev.Capacity
		noise := float32(w.RNG.Float64()*2-1) * noiseC
		d.dev.Temperature += (target-d.dev.Temperature)*s.alpha + noise
		*s.devMap.Get(d.entity) = d.dev
	}
}

// choose returns the cheapest device that fits task, with its terms.
func (s *System) choose(task *components.ComputeTask) (*device, components.Placement) {
	var best *device
	var bestTerms components.Placement
	for i := range s.scratch {
		d := &s.scratch[i]
		if p, ok := Terms(s.weights, task, &d.dev); ok && (best == nil || p.Cost < bestTerms.Cost) {
			best, bestTerms = d, p
		}
	}
	return best, bestTerms
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
