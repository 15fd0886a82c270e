package schedule

import (
	"math"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// Diffusion (work stealing) and thermal shedding. The place kernel puts
// each task on its cheapest device, which can pile work on the devices
// nearest popular data; diffusion spreads it to spatial neighbours that
// have room, a bounded number of tasks per tick, and heat drives work off a
// device altogether until it has cooled. See docs/scheduling.md.
const (
	// OverloadMargin: a device sheds when its load fraction is above its
	// neighbourhood's by more than this, and sheds (and a neighbour
	// receives) only down to (up to) the mean + OverloadMargin/2. The
	// half-margin band between is the hysteresis that keeps a receiver
	// from becoming a source by what it received.
	OverloadMargin = 0.15
	// Rate limit. Moving a task has a real price (a vCPU re-pinned,
	// caches cold), so a load shock drains over some ticks instead of all
	// at once — but over a number of ticks that does not grow with the
	// world. In one tick diffusion and thermal shedding move at most
	// max(MigrationsPerTick, tasks / MigrationsFraction) tasks, all
	// devices together; each shedding device at most
	// max(MigrationsPerDevice, that budget / the number of shedding
	// devices), so a shock piled on a few devices drains as fast as one
	// spread over many.
	MigrationsPerTick   = 64
	MigrationsFraction  = 128
	MigrationsPerDevice = 8
	// HoldTicks: a task moved by diffusion or heat is not moved again for
	// a "cheaper" placement or another shed within this many ticks, so no
	// task goes A → B → A inside the window.
	HoldTicks = 2 * RebalanceTicks
	// ThermalThresholdC: a device hotter than this sheds its tasks and
	// takes none; it takes work again once below ThresholdC −
	// ThermalHysteresisC.
	ThermalThresholdC  = 78
	ThermalHysteresisC = 8
)

// neighbourhoods builds each device's spatial neighbourhood from the same
// clusters the place kernel prunes with (gpu.BuildClusters, at most
// gpu.ClusterLeaf devices each): a device's cluster plus the cluster
// nearest to it, so that load can flow from cluster to cluster without any
// device looking at all others.
func (s *System) neighbourhoods() {
	n := len(s.order)
	devs := make([]components.Device, n)
	for i, e := range s.order {
		devs[i] = *s.deviceMap.Get(e)
	}
	clusters, order := gpu.BuildClusters(devs, nil, nil)
	s.nbrs, s.nbrFirst = s.nbrs[:0], make([]int32, n+1)
	of := make([]int, n) // device → its cluster
	for c := range clusters {
		for _, d := range order[clusters[c].First : clusters[c].First+clusters[c].Count] {
			of[d] = c
		}
	}
	nearest := make([]int, len(clusters))
	for c := range clusters {
		nearest[c] = -1
		best := math.Inf(1)
		for o := range clusters {
			if o == c {
				continue
			}
			var sq float64
			for a := range 3 {
				x := float64(clusters[c].Center[a] - clusters[o].Center[a])
				sq += x * x
			}
			if sq < best {
				nearest[c], best = o, sq
			}
		}
	}
	for i := range n {
		s.nbrFirst[i] = int32(len(s.nbrs))
		c := &clusters[of[i]]
		for _, d := range order[c.First : c.First+c.Count] {
			s.nbrs = append(s.nbrs, int32(d))
		}
		if o := nearest[of[i]]; o >= 0 {
			c := &clusters[o]
			for _, d := range order[c.First : c.First+c.Count] {
				s.nbrs = append(s.nbrs, int32(d))
			}
		}
	}
	s.nbrFirst[n] = int32(len(s.nbrs))
	s.share = make([]float32, n)
	s.hot = make([]bool, n)
	s.shed = make([]int32, n)
	s.full = make([]bool, n)
}

// updateShares computes each neighbourhood's load fraction and latches
// the hot devices (above the threshold; cool again only below threshold −
// hysteresis).
func (s *System) updateShares() {
	hot := 0
	for i, e := range s.order {
		d := s.deviceMap.Get(e)
		var load, capacity float32
		for _, j := range s.nbrs[s.nbrFirst[i]:s.nbrFirst[i+1]] {
			nd := s.deviceMap.Get(s.order[j])
			load += nd.Load
			capacity += nd.Capacity
		}
		s.share[i] = 0
		if capacity > 0 {
			s.share[i] = load / capacity
		}
		s.hot[i] = d.Temperature > ThermalThresholdC || s.hot[i] && d.Temperature >= ThermalThresholdC-ThermalHysteresisC
		if s.hot[i] {
			hot++
		}
		s.shed[i] = 0
		s.full[i] = false
	}
	s.stats.Hot = hot
}

// overShare reports whether device i would be over its neighbourhood's
// share (by the full margin) with demand more on it.
func (s *System) overShare(i int32, demand float32) bool {
	d := s.deviceMap.Get(s.order[i])
	return (d.Load+demand)/d.Capacity > s.share[i]+OverloadMargin
}

// diffuse moves up to MigrationsPerTick tasks off hot and over-share
// devices to the cheapest neighbour with room below the band. It walks the
// tasks only on a tick where some device has something to shed.
func (s *System) diffuse(tick uint64) {
	sources := 0
	for i, e := range s.order {
		d := s.deviceMap.Get(e)
		if d.Load > 0 && (s.hot[i] || s.overShare(int32(i), 0)) {
			sources++
		}
	}
	if sources == 0 {
		s.quiet = false
		return
	}
	// A device over its share that none of its neighbours can relieve
	// stays so tick after tick: walking every task again would move
	// nothing (it made the desktop world's tick 8× slower).
	sig := s.deviceSignature()
	if s.quiet && sig == s.quietSig && tick < s.quietUntil {
		return
	}
	moves, firstHold := 0, uint64(math.MaxUint64)
	defer func() {
		s.quiet, s.quietSig, s.quietUntil = moves == 0, sig, firstHold
	}()
	budget, perDevice := s.rateLimit(sources)
	q := s.tasks.Query()
	for q.Next() {
		task, pl := q.Get()
		e := q.Entity()
		if pl.Device == 0 || int(pl.Device) >= len(s.index) || s.index[pl.Device] < 0 {
			continue
		}
		from := s.index[pl.Device]
		src := s.deviceMap.Get(s.order[from])
		reason := components.ReasonThermal
		if !s.hot[from] {
			if !(src.Load/src.Capacity > s.share[from]+OverloadMargin/2) || !s.shedding(from) {
				continue
			}
			reason = components.ReasonOverload
		}
		if h := s.hold[e]; h > tick {
			firstHold = min(firstHold, h)
			continue
		}
		if s.shed[from] >= perDevice {
			continue
		}
		to, terms, ok := s.receiver(from, task)
		if !ok {
			continue
		}
		if reason == components.ReasonOverload {
			// Diffusion buys balance, not at any price: the receiver may
			// cost at most what the band saves in load term more than
			// staying (a task near its data stays near it).
			stay, ok := gpu.PlacementTerms(s.weights, task, src, src.Load-task.Demand)
			if ok && terms.Cost > stay.Cost+s.weights.Load*OverloadMargin {
				continue
			}
		}
		target := s.order[to]
		dst := s.deviceMap.Get(target)
		s.moved(e, task, pl.Device, target.ID(), reason, tick, &terms)
		src.Load -= task.Demand
		dst.Load += task.Demand
		s.mirror.Devices.Mark(s.order[from])
		s.mirror.Devices.Mark(target)
		*pl = terms
		pl.Device, pl.Tick = target.ID(), uint32(tick)
		s.mirror.SetPlacement(e, target)
		s.hold[e] = tick + HoldTicks
		s.shed[from]++
		moves++
		if budget--; budget == 0 {
			q.Close()
			break
		}
	}
}

// deviceSignature sums up what diffusion decides from: every device's
// load and whether it is hot (FNV-1a over their bits).
func (s *System) deviceSignature() uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h = (h ^ v) * 1099511628211 }
	for i, e := range s.order {
		mix(uint64(math.Float32bits(s.deviceMap.Get(e).Load)))
		if s.hot[i] {
			mix(1)
		}
	}
	return h
}

// rateLimit is this tick's migration budget, all devices together, and
// the most one of sources shedding devices moves.
func (s *System) rateLimit(sources int) (budget int, perDevice int32) {
	budget = max(MigrationsPerTick, s.mirror.Tasks.Len()/MigrationsFraction)
	return budget, int32(max(MigrationsPerDevice, budget/sources))
}

// spill is the cheapest device of device from's neighbourhood (from
// itself excluded) with room for an unplaced task, not hot. A
// neighbourhood that had none for one task this tick is not searched
// again this tick (another task may have fitted; it waits its window).
func (s *System) spill(from int32, task *components.ComputeTask) (int32, components.Placement, bool) {
	if s.full[from] {
		return 0, components.Placement{}, false
	}
	best, found := components.Placement{}, int32(-1)
	for _, j := range s.nbrs[s.nbrFirst[from]:s.nbrFirst[from+1]] {
		if j == from || s.hot[j] {
			continue
		}
		d := s.deviceMap.Get(s.order[j])
		if p, ok := gpu.PlacementTerms(s.weights, task, d, d.Load); ok && (found < 0 || p.Cost < best.Cost) {
			best, found = p, j
		}
	}
	if found < 0 {
		s.full[from] = true
	}
	return found, best, found >= 0
}

// shedding: an over-share device keeps shedding this tick once it
// started (it was over the full margin at the start of the tick, and is
// still above the half margin).
func (s *System) shedding(i int32) bool {
	return s.shed[i] > 0 || s.overShare(i, 0)
}

// receiver is the cheapest neighbour of device from that may take the
// task: its kind and slot allowed, not hot, within capacity and — for
// an overload move — staying below its own band.
func (s *System) receiver(from int32, task *components.ComputeTask) (int32, components.Placement, bool) {
	best, found := components.Placement{}, int32(-1)
	for _, j := range s.nbrs[s.nbrFirst[from]:s.nbrFirst[from+1]] {
		if j == from || s.hot[j] {
			continue
		}
		d := s.deviceMap.Get(s.order[j])
		if (d.Load+task.Demand)/d.Capacity > s.share[j]+OverloadMargin/2 && !s.hot[from] {
			continue
		}
		p, ok := gpu.PlacementTerms(s.weights, task, d, d.Load)
		if !ok {
			continue
		}
		if found < 0 || p.Cost < best.Cost {
			best, found = p, j
		}
	}
	return found, best, found >= 0
}

// moved records a task's move from device id from to device id to (0:
// none) before the loads change: the count, the task's Migration where it
// has one, and for a named task the runner-up, a Migration (added if
// missing) and the RAYOS_SCHED marker.
func (s *System) moved(e ecs.Entity, task *components.ComputeTask, from, to uint32, reason components.MigrationReason, tick uint64, _ *components.Placement) {
	s.stats.Last[reason]++
	s.stats.Total[reason]++
	m := components.Migration{From: from, Reason: reason, Tick: tick}
	named := s.names.Has(e)
	if named {
		m.RunnerUp, m.RunnerUpCost = s.runnerUp(task, from, to)
	}
	if s.migs.Has(e) {
		*s.migs.Get(e) = m
	} else if named {
		s.pending = append(s.pending, pendingMigration{e, m})
	}
	if named {
		s.emit(s.names.Get(e).Text, s.deviceName(from), s.deviceName(to), reason)
	}
}

// runnerUp is the cheapest device other than the chosen one, with the
// loads before the move (the task's own demand off its current device):
// computed on the CPU for the few named tasks only.
func (s *System) runnerUp(task *components.ComputeTask, from, to uint32) (uint32, float32) {
	var id uint32
	var cost float32
	for _, e := range s.order {
		if e.ID() == to {
			continue
		}
		d := s.deviceMap.Get(e)
		load := d.Load
		if e.ID() == from {
			load -= task.Demand
		}
		p, ok := gpu.PlacementTerms(s.weights, task, d, load)
		if ok && (id == 0 || p.Cost < cost) {
			id, cost = e.ID(), p.Cost
		}
	}
	return id, cost
}

func (s *System) flushPending() {
	for _, p := range s.pending {
		if !s.ecsw.Alive(p.task) || !s.taskData.HasAll(p.task) {
			continue
		}
		if s.migs.Has(p.task) {
			*s.migs.Get(p.task) = p.m
		} else {
			m := p.m
			s.migs.Add(p.task, &m)
		}
	}
	s.pending = s.pending[:0]
}

// deviceName is the device's fabric name, "dev<id>" without one, "-" for
// none.
func (s *System) deviceName(id uint32) string {
	var node *components.FabricNode
	if e, ok := s.device(id); ok && s.fabric.Has(e) {
		node = s.fabric.Get(e)
	}
	return components.DeviceName(id, node)
}
