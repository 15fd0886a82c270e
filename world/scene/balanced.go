package scene

import (
	"math"
	"math/rand/v2"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// Balanced builds a scene of the given size whose devices hold its tasks'
// demand with Headroom to spare, and whose workload churns at the given
// rates (the Churn resource, for the workload system). Windows and gaze
// rays are Synthetic's.
//
// Capacity follows demand because a scheduler is only interesting where
// its choices matter: where most tasks can never fit (OverloadSize) every
// evaluation finds the same nothing, and where everything fits anywhere
// any choice will do. Each device gets a seeded share (1 to 4 parts, as in
// Synthetic's mix of 100 to 400) of Headroom × the total demand drawn.
//
// With size.Hosts, the devices sit in hosts of Devices/Hosts, in creation
// order (devices 0–15 are the first host's in DatacenterSize): a host's
// devices a few centimetres apart (one chassis), hosts on a grid with a
// 6 m pitch (rows of racks), and each task's data near one host, so that
// locality has a right answer and a full host spills to its neighbours.
// The tasks are created in one batch: a million of them take a fraction
// of a second and a handful of allocations.
func Balanced(w *world.World, size Size, churn Churn) Summary {
	r := w.RNG
	addWindows(w, size.Surfaces)
	addRays(w, size.Rays)
	f := newFleet(r, size)

	devices := ecs.NewMap1[components.Device](w.ECS)
	entities := make([]ecs.Entity, size.Devices)
	shares := make([]float64, size.Devices)
	var parts float64
	for i := range entities {
		shares[i] = float64(1 + r.IntN(4))
		parts += shares[i]
		entities[i] = devices.NewEntity(&components.Device{
			Position: f.device(r, i), Temperature: 35,
			EnergyCost: float32(0.5 + r.Float64()), Kind: uint32(r.IntN(3)),
		})
	}

	var demand float64
	if size.Tasks > 0 {
		tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
		tasks.NewBatchFn(size.Tasks, func(_ ecs.Entity, t *components.ComputeTask, _ *components.Placement) {
			*t = f.task(r)
			demand += float64(t.Demand)
		})
	}
	for i, e := range entities {
		devices.Get(e).Capacity = float32(shares[i] / parts * Headroom * demand)
	}

	churn.Population = size.Tasks
	churn.NewTask = f.task
	ecs.AddResource(w.ECS, &churn)
	return Summary{Surfaces: size.Surfaces, Rays: size.Rays, Devices: size.Devices, Tasks: size.Tasks}
}

// Fleet layout, in metres. The host pitch less twice the jitter (4 m) is
// far more than a chassis' extent (under 0.7 m), so a device is always
// nearer its host's devices than any other host's.
const (
	hostPitch    = 6.0
	hostJitter   = 1.0
	chassisPitch = 0.15
	chassisCols  = 4
	// taskSpread is the standard deviation of a task's data around its
	// host: nearly all of it lies nearer its own host than the next one.
	taskSpread = 1.0
)

// fleet is where a Balanced scene's devices stand and its tasks' data lies.
type fleet struct {
	hosts   []components.Vec3 // host centres; none: devices spread over the floor
	perHost int
}

// newFleet places size.Hosts hosts on a square grid centred ahead of the
// viewer, each jittered by up to hostJitter.
func newFleet(r *rand.Rand, size Size) *fleet {
	f := &fleet{}
	if size.Hosts <= 0 {
		return f
	}
	f.perHost = (size.Devices + size.Hosts - 1) / size.Hosts
	cols := int(math.Ceil(math.Sqrt(float64(size.Hosts))))
	f.hosts = make([]components.Vec3, size.Hosts)
	for h := range f.hosts {
		col, row := h%cols, h/cols
		f.hosts[h] = components.Vec3{
			float32((float64(col)-float64(cols-1)/2)*hostPitch + (r.Float64()*2-1)*hostJitter),
			0,
			float32(-4 - float64(row)*hostPitch + (r.Float64()*2-1)*hostJitter),
		}
	}
	return f
}

// device returns the position of device number i: in its host's chassis,
// chassisCols to a row, rows stacked upwards; or anywhere on the 40 × 40 m
// floor without hosts.
func (f *fleet) device(r *rand.Rand, i int) components.Vec3 {
	if len(f.hosts) == 0 {
		return components.Vec3{float32(r.Float64()*40 - 20), 0, float32(-r.Float64() * 40)}
	}
	c := f.hosts[i/f.perHost]
	j := i % f.perHost
	return components.Vec3{
		c[0] + float32((float64(j%chassisCols)-float64(chassisCols-1)/2)*chassisPitch),
		c[1] + 0.5 + float32(j/chassisCols)*chassisPitch,
		c[2],
	}
}

// task draws one task: its data near a random host (or anywhere on the
// floor), demand in [0, 2), priority 1 to 3. The scene's first tasks and
// the workload's arrivals both come from here, so churn keeps the world's
// shape.
func (f *fleet) task(r *rand.Rand) components.ComputeTask {
	var at components.Vec3
	if len(f.hosts) == 0 {
		at = components.Vec3{float32(r.Float64()*40 - 20), float32(r.Float64() * 2), float32(-r.Float64() * 40)}
	} else {
		c := f.hosts[r.IntN(len(f.hosts))]
		at = components.Vec3{c[0] + float32(r.NormFloat64()*taskSpread), float32(r.Float64() * 2), c[2] + float32(r.NormFloat64()*taskSpread)}
	}
	return components.ComputeTask{Affinity: at, Demand: float32(r.Float64() * 2), Priority: float32(1 + r.IntN(3))}
}
