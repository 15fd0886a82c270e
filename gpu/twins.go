package gpu

import (
	"math"

	"github.com/rayos/engine/components"
)

// The CPU twins of the kernels in package shaders. They are the reference:
// each is written in the same operation order as its GLSL, and every
// product is rounded explicitly with float32(…) because Go may otherwise
// fuse a*b+c into one FMA on some targets, while the shaders mark the same
// arithmetic `precise`.

func mul(a, b float32) float32 { return float32(a * b) }

// HitParams is the params buffer of the hit kernel.
type HitParams struct {
	RayCount, SurfaceCount uint32
	// DirtyOnly, when not 0, evaluates only the rays whose bit is set in
	// the dirty bitset (a bit per ray slot, 32 per word): the mirror sets
	// it when no surface changed since the last run, so a ray that did not
	// change either keeps its result without a test.
	DirtyOnly uint32
	Pad       uint32
}

// Hit is the hit kernel's result for one ray: the index of the surface it
// hits nearest (into the surfaces array), or -1, and the distance.
type Hit struct {
	Index int32
	T     float32
}

// HitChange is one ray whose hit result changed in a run: its slot and
// the new result (std430, 16 bytes).
type HitChange struct {
	Ray   uint32
	Index int32
	T     float32
	Pad   uint32
}

// HitTest is the twin of hit.comp: for each ray with a non-zero weight,
// the nearest visible surface its quad test accepts; ties go to the higher
// layer, then the higher z. hits holds each ray slot's result from the
// last run and is updated in place; every ray whose result changed is
// appended to changes (in ray order here; in any order on a GPU), and the
// number appended is returned.
func HitTest(rays []components.AttentionRay, surfaces []components.Surface, hits []Hit, changes []HitChange) int {
	return hitRange(rays, surfaces, hits, nil, changes, 0, len(rays))
}

// HitTestDirty is HitTest over only the rays whose bit is set in dirty (a
// bit per ray slot, 32 per word), as the kernel runs with DirtyOnly.
func HitTestDirty(rays []components.AttentionRay, surfaces []components.Surface, hits []Hit, dirty []uint32, changes []HitChange) int {
	return hitRange(rays, surfaces, hits, dirty, changes, 0, len(rays))
}

// hitRange is HitTest over the rays [lo, hi) only (those marked in dirty
// when it is not nil): it updates hits[lo:hi]
// and appends their changes from changes[0], in ray order, returning how
// many. HitTest is the range of every ray; the CPU backend's pool runs
// disjoint ranges at once and concatenates their changes in range order,
// which is exactly HitTest's list.
func hitRange(rays []components.AttentionRay, surfaces []components.Surface, hits []Hit, dirty []uint32, changes []HitChange, lo, hi int) int {
	n := 0
	for r := lo; r < hi; r++ {
		if dirty != nil && dirty[r>>5]&(1<<(r&31)) == 0 {
			continue
		}
		ray := &rays[r]
		best, bestT := int32(-1), float32(0)
		if ray.Weight != 0 {
			for i := range surfaces {
				s := &surfaces[i]
				if s.Flags&components.SurfaceVisible == 0 {
					continue
				}
				t, ok := hitQuad(ray, s)
				if !ok {
					continue
				}
				if best < 0 || t < bestT || t == bestT && onTop(s, &surfaces[best]) {
					best, bestT = int32(i), t
				}
			}
		}
		if hits[r] == (Hit{Index: best, T: bestT}) {
			continue
		}
		hits[r] = Hit{Index: best, T: bestT}
		changes[n] = HitChange{Ray: uint32(r), Index: best, T: bestT}
		n++
	}
	return n
}

func onTop(a, b *components.Surface) bool {
	if a.Layer != b.Layer {
		return a.Layer > b.Layer
	}
	return a.Z > b.Z
}

func hitQuad(ray *components.AttentionRay, s *components.Surface) (float32, bool) {
	r, u, o, d, c := &s.Right, &s.Up, &ray.Origin, &ray.Direction, &s.Center
	n := components.Vec3{
		mul(r[1], u[2]) - mul(r[2], u[1]),
		mul(r[2], u[0]) - mul(r[0], u[2]),
		mul(r[0], u[1]) - mul(r[1], u[0]),
	}
	denom := mul(d[0], n[0]) + mul(d[1], n[1]) + mul(d[2], n[2])
	if denom > -1e-6 && denom < 1e-6 {
		return 0, false // parallel to the surface
	}
	co := components.Vec3{c[0] - o[0], c[1] - o[1], c[2] - o[2]}
	t := (mul(co[0], n[0]) + mul(co[1], n[1]) + mul(co[2], n[2])) / denom
	if t <= 0 {
		return 0, false // behind the eye
	}
	p := components.Vec3{o[0] + mul(t, d[0]) - c[0], o[1] + mul(t, d[1]) - c[1], o[2] + mul(t, d[2]) - c[2]}
	pu := mul(p[0], r[0]) + mul(p[1], r[1]) + mul(p[2], r[2])
	pv := mul(p[0], u[0]) + mul(p[1], u[1]) + mul(p[2], u[2])
	if pu < -s.HalfWidth || pu > s.HalfWidth || pv < -s.HalfHeight || pv > s.HalfHeight {
		return 0, false
	}
	return t, true
}

// Weights scale the placement cost terms.
type Weights struct {
	Locality, Load, Thermal, Energy, Priority float32
}

// PlaceParams is the params buffer of the place kernel.
type PlaceParams struct {
	TaskCount, DeviceCount uint32
	Weights                Weights
	// RebalanceStride and RebalancePhase choose the placed tasks this run
	// reconsiders: those whose slot % RebalanceStride == RebalancePhase
	// (stride 1, phase 0: all of them; stride 0: none). Unplaced tasks are
	// always evaluated.
	RebalanceStride, RebalancePhase uint32
	// Gain: a placed task is moved only to a device that costs less than
	// its current one × Gain, so tasks do not flap between near-equals.
	Gain float32
	// FitLimit[k] is the most demand a device of kind k can take now (its
	// largest free capacity plus rounding slack, FitLimits): an unplaced
	// task that needs more on every kind it may use fits nowhere and is
	// not evaluated.
	FitLimit [DeviceKinds]float32
	// ClusterCount is how many device clusters (Clusters) the run prunes
	// with; 0 evaluates every device of every task.
	ClusterCount uint32
	// WaitStride and WaitPhase choose the waiting tasks (current[t] ==
	// Waiting) this run evaluates: those whose slot % WaitStride ==
	// WaitPhase (stride 0: none).
	WaitStride, WaitPhase uint32
	Pad3                  uint32
}

// Waiting in the task → device array marks an unplaced task whose last
// decision was turned away (its device filled up first). It is evaluated
// only in the run's wait window, not every run: thousands of unplaced
// tasks that all pick the few devices with room would otherwise be decided
// — and turned away — again every tick.
const Waiting = ^uint32(0)

// Cluster is a group of nearby devices (std430, 32 bytes): the sphere
// around them and their range in the cluster-ordered device list. Every
// cost term is ≥ 0 and the locality term is Locality × the distance to the
// device, so no device of a cluster costs a task less than Locality × (the
// distance to the sphere): a cluster whose bound is above the best cost
// found so far is skipped whole, and the result is the one of evaluating
// every device.
type Cluster struct {
	Center components.Vec3
	Radius float32
	First  uint32
	Count  uint32
	Pad    [2]uint32
}

// DeviceKinds is how many device kinds the place kernel's early-out knows;
// a device of a higher kind switches the early-out off.
const DeviceKinds = 8

// PlaceAction is a decision the scheduler will act on (std430, 48 bytes):
// the task's slot, the cost of staying (-1: unplaced, or its device no
// longer takes it) and the chosen placement (Device = 1 + device slot).
type PlaceAction struct {
	Task   uint32
	Stay   float32
	Pad    [2]uint32
	Choice components.Placement
}

// FitLimits computes PlaceParams.FitLimit from the devices: per kind, the
// largest free capacity plus a slack of 1e-5 × the largest capacity, so
// that float rounding never makes the early-out skip a task the per-device
// test would fit. Kinds with no device get -1 (nothing fits there);
// devices of a kind ≥ DeviceKinds disable the early-out (+Inf).
func FitLimits(devices []components.Device) [DeviceKinds]float32 {
	var free, capacity [DeviceKinds]float32
	var seen [DeviceKinds]bool
	for i := range devices {
		d := &devices[i]
		if d.Kind >= DeviceKinds {
			var all [DeviceKinds]float32
			for k := range all {
				all[k] = float32(math.Inf(1))
			}
			return all
		}
		if f := d.Capacity - d.Load; !seen[d.Kind] || f > free[d.Kind] {
			free[d.Kind] = f
		}
		capacity[d.Kind] = max(capacity[d.Kind], d.Capacity)
		seen[d.Kind] = true
	}
	var limit [DeviceKinds]float32
	for k := range limit {
		limit[k] = -1
		if seen[k] {
			limit[k] = free[k] + mul(1e-5, capacity[k])
		}
	}
	return limit
}

func fitsSomewhere(task *components.ComputeTask, limit *[DeviceKinds]float32) bool {
	for k := range uint32(DeviceKinds) {
		if task.Class != 0 && task.Class&(1<<k) == 0 {
			continue
		}
		if task.Demand <= limit[k] {
			return true
		}
	}
	return false
}

// Thermal cost: heat above ThermalKnee °C costs, reaching the full weight
// ThermalRange °C later.
const (
	ThermalKnee  = 55
	ThermalRange = 30
)

// PlacementTerms computes the named cost terms of putting task on dev when
// the device already carries load (not counting the task). ok is false when
// the task does not fit, the device's kind does not serve its class, or the
// task's Allow mask excludes the device's slot (ComputeTask.Allows).
// Placement.Device is left 0 for the caller to fill in.
func PlacementTerms(w Weights, task *components.ComputeTask, dev *components.Device, load float32) (p components.Placement, ok bool) {
	if task.Class != 0 && task.Class&(1<<dev.Kind) == 0 {
		return p, false
	}
	if !task.Allows(dev.Slot) {
		return p, false
	}
	after := (load + task.Demand) / dev.Capacity
	if after > 1 {
		return p, false
	}
	prio := max(task.Priority, 1)
	dx := task.Affinity[0] - dev.Position[0]
	dy := task.Affinity[1] - dev.Position[1]
	dz := task.Affinity[2] - dev.Position[2]
	p.Locality = mul(w.Locality, float32(math.Sqrt(float64(mul(dx, dx)+mul(dy, dy)+mul(dz, dz)))))
	p.Load = mul(w.Load, after)
	p.Thermal = mul(w.Thermal, max(0, dev.Temperature-ThermalKnee)) / ThermalRange
	p.Energy = mul(mul(w.Energy, dev.EnergyCost), task.Demand) / 8
	// Priority: important tasks pay more for a busy device, so they end up
	// where they are served first.
	p.Priority = mul(mul(w.Priority, prio-1), load) / dev.Capacity
	p.Cost = p.Locality + p.Load + p.Thermal + p.Energy + p.Priority
	return p, true
}

// PlaceTasks is the twin of place.comp. It evaluates the tasks that have
// something to decide — unplaced ones that may fit (PlaceParams.FitLimit;
// those Waiting only in the run's wait window), and the placed ones in the
// run's rebalance window — against every device, with the devices' loads
// less the task's own demand (current[t] is 1 + the slot the task is on,
// 0 if none, Waiting if none and turned away before), and appends to actions, returning how many,
// the decisions the scheduler acts on: an unplaced task that fits, a
// placed one whose best device is another that costs less than staying ×
// Gain (or whose device no longer takes it). The first of equal costs
// wins. Actions come in task order here, in any order on a GPU.
func PlaceTasks(p *PlaceParams, tasks []components.ComputeTask, devices []components.Device, current []uint32, actions []PlaceAction) int {
	return placeRange(p, tasks, devices, current, nil, nil, actions, 0, len(tasks))
}

// PlaceTasksClustered is PlaceTasks pruned by device clusters
// (p.ClusterCount of them, their devices listed in order by cluster): the
// same decisions with far fewer devices evaluated where devices cluster
// in space, as a data centre's hosts do.
func PlaceTasksClustered(p *PlaceParams, tasks []components.ComputeTask, devices []components.Device, current []uint32, clusters []Cluster, order []uint32, actions []PlaceAction) int {
	return placeRange(p, tasks, devices, current, clusters, order, actions, 0, len(tasks))
}

// placement is one task's search for its best device.
type placement struct {
	w         Weights
	task      *components.ComputeTask
	devices   []components.Device
	cur       uint32
	best      components.Placement
	stayCost  float32
	evaluated int
}

// try evaluates device slot d. Equal costs go to the lower slot, whatever
// order devices are evaluated in.
func (s *placement) try(d uint32) {
	dev := &s.devices[d]
	load := dev.Load
	if s.cur == d+1 {
		load -= s.task.Demand
	}
	s.evaluated++
	pl, ok := PlacementTerms(s.w, s.task, dev, load)
	if !ok {
		return
	}
	if s.cur == d+1 {
		s.stayCost = pl.Cost
	}
	if s.best.Device == 0 || pl.Cost < s.best.Cost || pl.Cost == s.best.Cost && d+1 < s.best.Device {
		s.best = pl
		s.best.Device = d + 1
	}
}

// bound is the least any device of cluster c can cost the task: its
// locality to the cluster's sphere, less a shave of 1e-5 × (distance +
// radius) and an absolute 1e-3. Float rounding in the distance, the
// subtraction and the device's own cost is a few ulps of those
// magnitudes, so the shave keeps the bound below every device's computed
// cost even far from the origin, where the subtraction cancels.
func (s *placement) bound(c *Cluster) float32 {
	a := &s.task.Affinity
	dx, dy, dz := a[0]-c.Center[0], a[1]-c.Center[1], a[2]-c.Center[2]
	dist := float32(math.Sqrt(float64(mul(dx, dx) + mul(dy, dy) + mul(dz, dz))))
	gap := dist - c.Radius
	if gap <= 0 {
		return 0
	}
	return mul(s.w.Locality, gap-mul(dist+c.Radius, 1e-5)) - 1e-3
}

// prunable says whether the cluster bound holds for the task: every cost
// term but locality is ≥ 0 only for a demand ≥ 0, and a bound from a
// non-finite affinity or priority means nothing. Other tasks evaluate
// every device.
func prunable(t *components.ComputeTask) bool {
	return t.Demand >= 0 && finite(t.Affinity[0]) && finite(t.Affinity[1]) && finite(t.Affinity[2]) && finite(t.Priority)
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// search finds the best device: every device in slot order without
// clusters (or for a task they cannot prune); with them, the current
// device first (its cost is needed anyway), then the cluster with the
// lowest bound, then every other cluster whose bound does not exceed the
// best cost found.
func (s *placement) search(clusters []Cluster, order []uint32) {
	if len(clusters) == 0 || !prunable(s.task) {
		for d := range s.devices {
			s.try(uint32(d))
		}
		return
	}
	if s.cur != 0 {
		s.try(s.cur - 1)
	}
	nearest, nearestBound := 0, float32(0)
	for i := range clusters {
		if b := s.bound(&clusters[i]); i == 0 || b < nearestBound {
			nearest, nearestBound = i, b
		}
	}
	s.cluster(&clusters[nearest], order)
	for i := range clusters {
		if i != nearest && (s.best.Device == 0 || s.bound(&clusters[i]) <= s.best.Cost) {
			s.cluster(&clusters[i], order)
		}
	}
}

func (s *placement) cluster(c *Cluster, order []uint32) {
	for _, d := range order[c.First : c.First+c.Count] {
		if d+1 != s.cur { // already evaluated
			s.try(d)
		}
	}
}

// placeRange is PlaceTasks over the tasks [lo, hi) only, appending their
// decisions from actions[0], in task order; like hitRange, disjoint ranges
// concatenated in order are PlaceTasks's list. With clusters (nil for
// none) it prunes as PlaceTasksClustered.
func placeRange(p *PlaceParams, tasks []components.ComputeTask, devices []components.Device, current []uint32, clusters []Cluster, order []uint32, actions []PlaceAction, lo, hi int) int {
	n := 0
	for t := lo; t < hi; t++ {
		cur := current[t]
		if cur == Waiting {
			if p.WaitStride == 0 || uint32(t)%p.WaitStride != p.WaitPhase {
				continue
			}
			cur = 0
		}
		if cur != 0 && (p.RebalanceStride == 0 || uint32(t)%p.RebalanceStride != p.RebalancePhase) {
			continue
		}
		task := &tasks[t]
		if cur == 0 && !fitsSomewhere(task, &p.FitLimit) {
			continue
		}
		search := placement{w: p.Weights, task: task, devices: devices, cur: cur, stayCost: -1}
		search.search(clusters, order)
		best, stayCost := search.best, search.stayCost
		if best.Device == 0 || best.Device == cur {
			continue
		}
		if cur != 0 && stayCost >= 0 && best.Cost >= mul(stayCost, p.Gain) {
			continue
		}
		actions[n] = PlaceAction{Task: uint32(t), Stay: stayCost, Choice: best}
		n++
	}
	return n
}

// RGBA packs a colour as the kernels store it: R in the low byte, A in the
// high byte (bytes R, G, B, A in memory).
func RGBA(r, g, b, a uint8) uint32 {
	return uint32(r) | uint32(g)<<8 | uint32(b)<<16 | uint32(a)<<24
}

// Blend puts src over dst with src's alpha, rounding each channel; the
// result is opaque.
func Blend(src, dst uint32) uint32 {
	a := src >> 24
	out := uint32(0xff000000)
	for shift := uint32(0); shift < 24; shift += 8 {
		s := src >> shift & 0xff
		d := dst >> shift & 0xff
		out |= (s*a + d*(255-a) + 127) / 255 << shift
	}
	return out
}
