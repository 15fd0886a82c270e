package vcpu

import (
	"strconv"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Demands and priority of a guest's tasks (see the package doc).
const (
	VCPUDemand     = 0.5
	EmulatorDemand = 0.05
	VCPUPriority   = 4 // synthetic tasks have 1–3
	// KindCPU is the Device.Kind of CPU devices; the tasks' Class asks
	// for it.
	KindCPU = 1
)

// System keeps one task per running guest's vCPU and emulator thread.
type System struct {
	guests  *ecs.Filter2[components.Guest, components.GuestCPUs]
	tasks   *ecs.Filter2[components.VCPU, components.ComputeTask]
	devices *ecs.Filter2[components.Device, components.FabricNode]
	caps    *ecs.Map1[components.CPUCaps]
	task    *ecs.Map1[components.ComputeTask]
	create  *ecs.Map5[components.ComputeTask, components.Placement, components.TaskName, components.VCPU, components.Pinning]
	mirror  *gpu.Mirror

	want    map[key]want
	have    map[key]bool
	removed []ecs.Entity
}

type key struct {
	guest string
	index int
}

type want struct {
	allowLo, allowHi uint32
	numa             int
}

// New returns the vcpu system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "vcpu",
		Purpose: "keep one compute task per running guest's vCPU and emulator thread (named, VCPU-marked, masked to the policy's CPU set); remove them when the guest stops",
		Reads:   []string{"Guest", "GuestCPUs", "CPUCaps", "Device", "FabricNode"},
		Writes:  []string{"ComputeTask and Placement entities of vCPUs (TaskName, VCPU, Pinning)", "ComputeTask.AllowLo/AllowHi", "Mirror dirty marks"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.guests = ecs.NewFilter2[components.Guest, components.GuestCPUs](w.ECS).Register()
	s.tasks = ecs.NewFilter2[components.VCPU, components.ComputeTask](w.ECS).Register()
	s.devices = ecs.NewFilter2[components.Device, components.FabricNode](w.ECS).Register()
	s.caps = ecs.NewMap1[components.CPUCaps](w.ECS)
	s.task = ecs.NewMap1[components.ComputeTask](w.ECS)
	s.create = ecs.NewMap5[components.ComputeTask, components.Placement, components.TaskName, components.VCPU, components.Pinning](w.ECS)
	s.want, s.have = map[key]want{}, map[key]bool{}
	s.mirror, err = gpu.MirrorOf(w.ECS, "vcpu")
	return err
}

// Running reports whether a guest in state st has vCPUs to place.
func Running(st components.GuestState) bool {
	return st == components.GuestStarting || st == components.GuestHidden || st == components.GuestPresented
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	clear(s.want)
	clear(s.have)
	gq := s.guests.Query()
	for gq.Next() {
		g, cpus := gq.Get()
		if !Running(g.State) {
			continue
		}
		var caps components.CPUCaps
		if s.caps.HasAll(gq.Entity()) {
			caps = *s.caps.Get(gq.Entity())
		}
		n := max(cpus.VCPUs, 1)
		if caps.Count > 0 {
			n = min(n, caps.Count) // the domain is defined with no more
		}
		if caps.Max > 0 && n > caps.Max {
			continue // refused at start; one running anyway (started outside RayOS) is not placed
		}
		wt := want{allowLo: caps.AllowLo, allowHi: caps.AllowHi, numa: cpus.NUMA}
		for i := -1; i < n; i++ {
			s.want[key{g.ID, i}] = wt
		}
	}
	s.removed = s.removed[:0]
	tq := s.tasks.Query()
	for tq.Next() {
		v, t := tq.Get()
		k := key{v.Guest, v.Index}
		wt, ok := s.want[k]
		if !ok || s.have[k] {
			s.removed = append(s.removed, tq.Entity())
			continue
		}
		s.have[k] = true
		if t.AllowLo != wt.allowLo || t.AllowHi != wt.allowHi {
			// A reload changed the CPU set: the scheduler moves a task its
			// mask no longer allows (reason policy).
			t.AllowLo, t.AllowHi = wt.allowLo, wt.allowHi
			s.mirror.Tasks.Mark(tq.Entity())
		}
	}
	for _, e := range s.removed {
		w.ECS.RemoveEntity(e)
	}
	if len(s.have) == len(s.want) {
		return
	}
	for _, k := range sortedKeys(s.want) {
		if s.have[k] {
			continue
		}
		wt := s.want[k]
		t := components.ComputeTask{
			Affinity: s.memoryAt(wt.numa), Demand: VCPUDemand, Priority: VCPUPriority, Class: 1 << KindCPU,
			AllowLo: wt.allowLo, AllowHi: wt.allowHi,
		}
		name := k.guest + "/vcpu" + strconv.Itoa(k.index)
		if k.index < 0 {
			t.Demand, name = EmulatorDemand, k.guest+"/emulator"
		}
		s.create.NewEntity(&t, &components.Placement{}, &components.TaskName{Text: name},
			&components.VCPU{Guest: k.guest, Index: k.index}, &components.Pinning{Applied: -1, InFlight: -1, Failed: -1})
	}
}

// memoryAt is the fabric position of NUMA node numa: the centroid of its
// CPU devices, else of every CPU device the fabric describes, else the
// origin (a world without a described fabric).
func (s *System) memoryAt(numa int) components.Vec3 {
	var at, all components.Vec3
	var n, nAll float32
	q := s.devices.Query()
	for q.Next() {
		d, f := q.Get()
		if d.Kind != KindCPU || f.CPU < 0 {
			continue
		}
		all = add(all, d.Position)
		nAll++
		if f.NUMA == numa || (f.NUMA < 0 && numa == 0) {
			at = add(at, d.Position)
			n++
		}
	}
	switch {
	case n > 0:
		return scale(at, 1/n)
	case nAll > 0:
		return scale(all, 1/nAll)
	}
	return components.Vec3{}
}

func add(a, b components.Vec3) components.Vec3 {
	return components.Vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]}
}

func scale(a components.Vec3, k float32) components.Vec3 {
	return components.Vec3{a[0] * k, a[1] * k, a[2] * k}
}
