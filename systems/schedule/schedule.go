package schedule

import (
	"log/slog"
	"math"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// Thermal model: a device relaxes towards ambient + heatAtFull × load
// fraction with time constant thermalTau, plus seeded sensor noise.
const (
	ambientC    = 30
	heatAtFullC = 50
	thermalTau  = 10 * time.Second
	noiseC      = 0.05
)

// SensorFresh is how long a device's last sensor reading (a `thermal`
// input) stands as its temperature instead of the model. The sampler feeds
// a reading only when it changes, so a steady sensor is quiet between
// changes; 30 s covers a sensor that holds still for a while yet does not
// trust one that went silent (unplugged, a driver gone) forever. After it,
// the model takes over from the last reading, relaxing from there.
const SensorFresh = 30 * time.Second

// Sensor readings outside this range are refused (the journal refuses
// them too; this guards a world fed by other means).
const (
	minSensorC = -50
	maxSensorC = 200
)

// RebalanceTicks is how often every placed task is reconsidered: each
// tick a different 1/RebalanceTicks of them (by slot), so the cost is the
// same every tick instead of a spike every RebalanceTicks. Unplaced tasks
// are evaluated every tick. A placed task moves only when the new device
// costs less than rebalanceGain × its current one, so tasks do not flap
// between near-equal devices.
//
// WaitTicks is how often an unplaced task whose last decision was turned
// away (its device filled up first) is decided again: each tick a
// different 1/WaitTicks of them. Where free room is scarce, thousands of
// unplaced tasks pick the same few devices and all but a handful are
// turned away; deciding all of them again every tick costs evaluation and
// read-back for the same handful of placements. The stride trades that
// against how long a turned-away task waits, measured on the stress world
// (2 cores, tick 240): every tick 6.53 % of tasks unplaced, tick p50
// 5.7 ms; 2 → 6.64 %, 4.3 ms; 4 → 7.51 %; 8 → 7.65 %, 2.5 ms. Unplaced
// tasks are work not running, so 2: most of the saving of a short wait.
const (
	RebalanceTicks = 60
	WaitTicks      = 2
	rebalanceGain  = 0.9
)

// System applies the place kernel's decisions and moves device load and
// temperature. The kernel evaluates, in parallel and with the loads of the
// previous tick, only the tasks that have something to decide and sends
// back only the decisions to act on; this system applies them in task
// order, re-checking capacity against what it already moved this tick, so
// two tasks never overfill a device (the loser is decided again next
// tick).
//
// It does not walk the tasks each tick: device loads are kept as tasks are
// placed, moved and removed (an observer sees removals), devices are found
// through an index by entity id, and once every RebalanceTicks — and when
// devices come or go — loads are recomputed from the placements, which
// also catches any placement changed behind the scheduler's back.
type System struct {
	mirror    *gpu.Mirror
	tasks     *ecs.Filter2[components.ComputeTask, components.Placement]
	taskData  *ecs.Map2[components.ComputeTask, components.Placement]
	devices   *ecs.Filter1[components.Device]
	deviceMap *ecs.Map1[components.Device]

	// byID maps a device entity id to the entity (zero: no such device);
	// order lists the devices in query order.
	byID  []ecs.Entity
	order []ecs.Entity
	// stale asks for a full recompute before the next tick's work.
	stale bool
	alpha float32

	// index maps a device entity id to its position in order (-1: none).
	index []int32
	// Diffusion and thermal state, per device in order: its neighbourhood
	// (nbrs[nbrFirst[i]:nbrFirst[i+1]], itself included), the
	// neighbourhood's load fraction this tick, and whether it is hot.
	nbrs     []int32
	nbrFirst []int32
	share    []float32
	hot      []bool
	shed     []int32
	// full: device i's neighbourhood had no room for a spilled task
	// this tick.
	full []bool
	// hold: tasks moved by diffusion or heat stay put (no "cheaper" move,
	// no second shed) until this tick — the hysteresis window in time.
	hold map[ecs.Entity]uint64
	// quiet: the last walk of the tasks for diffusion moved nothing, with
	// the devices as quietSig sums them up; until one changes — or the
	// first hold seen then expires, at quietUntil — another walk would
	// move nothing either, and is skipped.
	quiet      bool
	quietSig   uint64
	quietUntil uint64

	// Sensor readings: inputs are this tick's `thermal` inputs; sensed,
	// by device entity id, the tick after the tick of its last reading (0:
	// none); bySlot the devices of each slot; freshTicks SensorFresh in
	// ticks.
	inputs     *ecs.Filter1[components.Input]
	sensed     []uint64
	bySlot     map[uint32][]ecs.Entity
	freshTicks uint64

	stats   *components.SchedStats
	names   *ecs.Map[components.TaskName]
	migs    *ecs.Map[components.Migration]
	fabric  *ecs.Map[components.FabricNode]
	ecsw    *ecs.World
	weights gpu.Weights
	// pending: named tasks moved during a query that have no Migration yet
	// (adding one is a structural change, done after the query).
	pending []pendingMigration
	emit    func(task, from, to string, reason components.MigrationReason)
}

type pendingMigration struct {
	task ecs.Entity
	m    components.Migration
}

// New returns the scheduler.
func New() *System { return &System{stale: true, hold: map[ecs.Entity]uint64{}} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "schedule",
		Purpose: "apply the place kernel's decisions where they still fit (unplaced tasks every tick — a rolling 1/2 of those turned away before — and a rolling 1/60 of the placed ones); keep device loads and update temperatures",
		Reads:   []string{"ComputeTask", "Mirror placement decisions (of the world two ticks back)", "Input (thermal)", "Clock", "RNG"},
		Writes:  []string{"Placement", "Device.Load", "Device.Temperature", "Mirror requests"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.tasks = ecs.NewFilter2[components.ComputeTask, components.Placement](w.ECS).Register()
	s.taskData = ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	s.devices = ecs.NewFilter1[components.Device](w.ECS).Register()
	s.deviceMap = ecs.NewMap1[components.Device](w.ECS)
	s.alpha = float32(1 - math.Exp(-w.Clock.Dt.Seconds()/thermalTau.Seconds()))
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.freshTicks = uint64(max(1, SensorFresh/w.Clock.Dt))
	if s.mirror, err = gpu.MirrorOf(w.ECS, "schedule"); err != nil {
		return err
	}
	s.mirror.PlaceGain = rebalanceGain
	s.weights = s.mirror.Config().Weights
	s.ecsw = w.ECS
	s.names = ecs.NewMap[components.TaskName](w.ECS)
	s.migs = ecs.NewMap[components.Migration](w.ECS)
	s.fabric = ecs.NewMap[components.FabricNode](w.ECS)
	res := ecs.NewResource[components.SchedStats](w.ECS)
	if !res.Has() {
		res.Add(&components.SchedStats{})
	}
	s.stats = res.Get()
	s.emit = func(task, from, to string, reason components.MigrationReason) {
		w.Emit(marker.Sched(task, from, to, components.MigrationReasonNames[reason]))
	}
	// A task that leaves takes its demand off its device at once; devices
	// that come or go change the index and every load.
	ecs.Observe(ecs.OnRemoveEntity).With(ecs.C[components.ComputeTask](), ecs.C[components.Placement]()).Do(s.taskRemoved).Register(w.ECS)
	ecs.Observe(ecs.OnCreateEntity).With(ecs.C[components.Device]()).Do(func(ecs.Entity) { s.stale = true }).Register(w.ECS)
	ecs.Observe(ecs.OnRemoveEntity).With(ecs.C[components.Device]()).Do(func(ecs.Entity) { s.stale = true }).Register(w.ECS)
	return nil
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	tick := w.Clock.Tick
	if s.stale || tick%RebalanceTicks == 0 {
		s.recompute()
	}
	s.stats.Tick, s.stats.Last = tick, [7]uint64{}
	if len(s.order) == 0 {
		return
	}
	s.readSensors(tick)
	s.updateShares()
	for _, d := range s.mirror.Decisions() {
		s.apply(d, tick)
	}
	s.diffuse(tick)
	s.flushPending()
	// Decisions for the next tick: every unplaced task (the next window of
	// those turned away before), and the next window of placed ones.
	s.mirror.PlaceRequested = s.mirror.Tasks.Len() > 0
	s.mirror.RebalanceStride, s.mirror.RebalancePhase = RebalanceTicks, uint32((tick+1)%RebalanceTicks)
	s.mirror.WaitStride, s.mirror.WaitPhase = WaitTicks, uint32((tick+1)%WaitTicks)

	for _, e := range s.order {
		d := s.deviceMap.Get(e)
		if at := s.sensed[e.ID()]; at != 0 && tick+1-at < s.freshTicks {
			continue // a recent reading stands; the model waits
		}
		target := ambientC + heatAtFullC*d.Load/d.Capacity
		noise := float32(w.RNG.Float64()*2-1) * noiseC
		d.Temperature += (target-d.Temperature)*s.alpha + noise
		s.mirror.Devices.Mark(e)
	}
}

// recompute rebuilds the device index and every device's load from the
// placements.
func (s *System) recompute() {
	s.stale = false
	s.mirror.InvalidatePlacements()
	clear(s.byID)
	before := len(s.order)
	s.order = s.order[:0]
	dq := s.devices.Query()
	for dq.Next() {
		e := dq.Entity()
		for int(e.ID()) >= len(s.byID) {
			s.byID = append(s.byID, ecs.Entity{})
			s.index = append(s.index, -1)
			s.sensed = append(s.sensed, 0)
		}
		s.byID[e.ID()] = e
		s.order = append(s.order, e)
		if d := dq.Get(); d.Load != 0 {
			d.Load = 0
			s.mirror.Devices.Mark(e)
		}
	}
	for i := range s.index {
		s.index[i] = -1
		if s.byID[i].IsZero() {
			s.sensed[i] = 0 // a device gone takes its readings with it
		}
	}
	if s.bySlot == nil {
		s.bySlot = map[uint32][]ecs.Entity{}
	}
	clear(s.bySlot)
	for _, e := range s.order {
		slot := s.deviceMap.Get(e).Slot
		s.bySlot[slot] = append(s.bySlot[slot], e)
	}
	for i, e := range s.order {
		s.index[e.ID()] = int32(i)
	}
	if len(s.order) != before || len(s.nbrFirst) != len(s.order)+1 {
		s.neighbourhoods()
	}
	tq := s.tasks.Query()
	for tq.Next() {
		task, pl := tq.Get()
		if e, ok := s.device(pl.Device); ok {
			s.deviceMap.Get(e).Load += task.Demand
		} else if pl.Device != 0 {
			// Its device went away: the task is unplaced and decided anew.
			s.moved(tq.Entity(), task, pl.Device, 0, components.ReasonDeviceGone, s.stats.Tick, nil)
			*pl = components.Placement{}
		}
	}
	s.flushPending()
	for e, until := range s.hold {
		if until <= s.stats.Tick {
			delete(s.hold, e)
		}
	}
}

// device finds a live device by entity id.
func (s *System) device(id uint32) (ecs.Entity, bool) {
	if id == 0 || int(id) >= len(s.byID) || s.byID[id].IsZero() {
		return ecs.Entity{}, false
	}
	return s.byID[id], true
}

// apply carries out one decision, if the task and the device are still
// there and the device still has room after this tick's earlier moves.
func (s *System) apply(d gpu.Decision, tick uint64) {
	target, ok := s.device(d.Device.ID())
	if !ok || target != d.Device {
		return
	}
	task, pl := s.taskData.Get(d.Task)
	current, placed := s.device(pl.Device)
	if placed && current == target {
		return
	}
	reason := components.ReasonPlaced
	if placed {
		reason = components.ReasonCheaper
		if d.Stay < 0 && !task.Allows(s.deviceMap.Get(current).Slot) {
			reason = components.ReasonPolicy
		} else if d.Stay >= 0 {
			// A cheaper move waits out a diffusion move's hold, and does
			// not push its target over its share: the load term alone
			// would otherwise undo what diffusion just did.
			if s.hold[d.Task] > tick || s.overShare(s.index[target.ID()], task.Demand) {
				return
			}
		}
	}
	ti := s.index[target.ID()]
	dev := s.deviceMap.Get(target)
	if s.hot[ti] || dev.Load+task.Demand > dev.Capacity {
		// Another task took the room first this tick (the kernel decided
		// on loads two ticks old, so after a shock every unplaced task
		// picks the same device). An unplaced task spills to the cheapest
		// neighbour of its choice that has room; failing that it waits
		// and is decided again in its wait window. A hot device takes no
		// work until it has cooled.
		if !placed {
			if to, terms, ok := s.spill(ti, task); ok {
				target, dev, d.Terms = s.order[to], s.deviceMap.Get(s.order[to]), terms
			} else {
				pl.Device, pl.Tick = 0, max(uint32(tick), 1)
				s.mirror.SetWaiting(d.Task)
				return
			}
		} else {
			return
		}
	}
	from := pl.Device
	s.moved(d.Task, task, from, target.ID(), reason, tick, &d.Terms)
	if placed {
		s.deviceMap.Get(current).Load -= task.Demand
		s.mirror.Devices.Mark(current)
	}
	dev.Load += task.Demand
	s.mirror.Devices.Mark(target)
	*pl = d.Terms
	pl.Device, pl.Tick = target.ID(), uint32(tick)
	s.mirror.SetPlacement(d.Task, target)
}

// taskRemoved takes a leaving task's demand off its device.
func (s *System) taskRemoved(e ecs.Entity) {
	if s.stale {
		return // the next recompute counts without it
	}
	task, pl := s.taskData.Get(e)
	if dev, ok := s.device(pl.Device); ok {
		s.deviceMap.Get(dev).Load -= task.Demand
		s.mirror.Devices.Mark(dev)
	}
}

// readSensors applies this tick's `thermal` inputs: the reading becomes
// its device's temperature (every device of that slot; a fabric's slots
// are unique) and stands for SensorFresh. A reading for a slot no device
// has, or outside [-50, 200] °C, changes nothing.
func (s *System) readSensors(tick uint64) {
	q := s.inputs.Query()
	for q.Next() {
		in := q.Get()
		if in.Kind != components.InputThermal {
			continue
		}
		c := in.Celsius
		if !(c >= minSensorC && c <= maxSensorC) { // NaN fails both
			slog.Warn("thermal input refused", "device", in.Device, "celsius", c, "want", "celsius in [-50, 200]")
			continue
		}
		devs := s.bySlot[in.Device]
		if len(devs) == 0 {
			slog.Debug("thermal input for no device", "device", in.Device)
		}
		for _, e := range devs {
			s.deviceMap.Get(e).Temperature = c
			s.sensed[e.ID()] = tick + 1
			s.mirror.Devices.Mark(e)
		}
	}
}
