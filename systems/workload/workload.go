package workload

import (
	"math/rand/v2"
	"slices"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/scene"
)

// System applies the world's Churn once per tick. The tasks that finish are
// Finish × the task count, distinct, drawn uniformly from the live ones;
// arrivals are Finish × Population, so the task count returns to
// Population whatever it was and then stays within a task or two of it.
// Heat events pick devices uniformly (one device may take two).
//
// The tick allocates nothing once the world has churned for a few ticks:
// the finished and heated entities are collected into scratch slices that
// keep their storage, and ark recycles the finished tasks' entities and
// table rows for the arrivals. Entities are removed and created only after
// the queries that found them are closed. The GPU mirror's observers see
// tasks leave and arrive; the heat this system adds to a device is marked
// for upload here.
type System struct {
	churn      ecs.Resource[scene.Churn]
	tasks      *ecs.Filter1[components.ComputeTask]
	devices    *ecs.Filter1[components.Device]
	arrivals   *ecs.Map2[components.ComputeTask, components.Placement]
	deviceData *ecs.Map1[components.Device]
	mirror     *gpu.Mirror

	picks            []int // indices into the task query of this tick's finishers
	finished, heated []ecs.Entity
	// task and unplaced are what NewEntity copies from: fields, so that
	// passing their address does not move them to the heap every tick.
	task     components.ComputeTask
	unplaced components.Placement
}

// New returns the workload system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "workload",
		Purpose: "churn the world's compute at its scene's rates (scene.Churn; nothing without one): finish tasks, admit as many new unplaced ones, heat devices now and then",
		Reads:   []string{"scene.Churn", "ComputeTask", "Device", "RNG"},
		Writes:  []string{"ComputeTask and Placement entities (finished ones removed, arrivals created)", "Device.Temperature", "scene.Churn counts", "Mirror dirty marks"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.churn = ecs.NewResource[scene.Churn](w.ECS)
	s.tasks = ecs.NewFilter1[components.ComputeTask](w.ECS).Without(ecs.C[components.VCPU]()).Register() // guests' vCPUs finish when their guest stops, not by churn
	s.devices = ecs.NewFilter1[components.Device](w.ECS).Register()
	s.arrivals = ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	s.deviceData = ecs.NewMap1[components.Device](w.ECS)
	s.mirror, err = gpu.MirrorOf(w.ECS, "workload")
	return err
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	c := s.churn.Get()
	if c == nil {
		return
	}
	r := w.RNG

	// Finishing: k distinct tasks, collected first and removed once the
	// query is closed.
	s.finished = s.finished[:0]
	tq := s.tasks.Query()
	if n := tq.Count(); n > 0 {
		k := min(draw(r, c.Finish*float64(n)), n)
		s.picks = s.picks[:0]
		for len(s.picks) < k {
			for range k - len(s.picks) {
				s.picks = append(s.picks, r.IntN(n))
			}
			slices.Sort(s.picks)
			s.picks = slices.Compact(s.picks) // a task drawn twice is drawn again
		}
		for _, i := range s.picks {
			s.finished = append(s.finished, tq.EntityAt(i))
		}
	}
	tq.Close()
	for _, e := range s.finished {
		w.ECS.RemoveEntity(e)
	}
	c.Finished += uint64(len(s.finished))

	if c.NewTask != nil {
		for k := draw(r, c.Finish*float64(c.Population)); k > 0; k-- {
			s.task = c.NewTask(r)
			s.unplaced = components.Placement{}
			s.arrivals.NewEntity(&s.task, &s.unplaced)
			c.Arrived++
		}
	}

	// Heat events: the device warms now; the schedule system's thermal
	// model relaxes it over the next seconds.
	s.heated = s.heated[:0]
	dq := s.devices.Query()
	if n := dq.Count(); n > 0 {
		for k := draw(r, c.HeatChance*float64(n)); k > 0; k-- {
			s.heated = append(s.heated, dq.EntityAt(r.IntN(n)))
		}
	}
	dq.Close()
	for _, e := range s.heated {
		s.deviceData.Get(e).Temperature += c.HeatC
		s.mirror.Devices.Mark(e)
		c.Heated++
	}
}

// draw turns an expected count into a whole one: the integer part always,
// one more with the probability of the fraction. Over many ticks the mean
// is exact, and a rate of 0.05 per tick gives an event every 20 ticks on
// average rather than never.
func draw(r *rand.Rand, expected float64) int {
	if !(expected > 0) {
		return 0
	}
	n := int(expected)
	if r.Float64() < expected-float64(n) {
		n++
	}
	return n
}
