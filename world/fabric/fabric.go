package fabric

import (
	"fmt"
	"slices"
)

// Kind is a device class; its values are components.Device.Kind's.
type Kind uint32

// Device kinds.
const (
	KindGPU Kind = 0
	KindCPU Kind = 1
	KindNPU Kind = 2
)

// KindNames spells the kinds in fabric files and markers.
var KindNames = [...]string{KindGPU: "gpu", KindCPU: "cpu", KindNPU: "npu"}

func (k Kind) String() string {
	if int(k) < len(KindNames) {
		return KindNames[k]
	}
	return fmt.Sprintf("kind%d", uint32(k))
}

// Capacity of one device of each kind, in the units of a task's Demand: a
// CPU thread is one unit (a vCPU kept busy fills it). A GPU is counted as
// GPUCapacity threads' worth of the work RayOS places on it and an NPU as
// NPUCapacity: coarse, documented constants, not measurements.
const (
	CPUCapacity = 1.0
	GPUCapacity = 8.0
	NPUCapacity = 4.0
)

// DefaultCapacity is a kind's capacity when nothing says otherwise.
func DefaultCapacity(k Kind) float32 {
	switch k {
	case KindGPU:
		return GPUCapacity
	case KindNPU:
		return NPUCapacity
	}
	return CPUCapacity
}

// Energy is the relative energy cost of one unit of demand-time per kind
// (indexed by Kind).
type Energy [3]float32

// DefaultEnergy is the energy table the policy's [energy] overrides: a
// CPU thread costs 1; a GPU does a unit of the parallel work RayOS gives
// it for less, an NPU for far less.
var DefaultEnergy = Energy{KindGPU: 0.8, KindCPU: 1.0, KindNPU: 0.3}

// Device is one piece of hardware in the fabric.
type Device struct {
	// Name is stable and marker-safe: "cpu3", "gpu0", or a file's name.
	Name string
	Kind Kind
	// Model is what the backend called a GPU ("" for CPUs).
	Model string
	// CPU is the logical CPU number (-1 for other kinds); Package, Core
	// and NUMA are -1 when unknown.
	CPU, Package, Core, NUMA int
	// Cache identifies the group of cores sharing the smallest cache that
	// spans more than one core (its shared_cpu_list's first CPU; -1 when
	// none does).
	Cache int
	// Slot is the device's slot in the fabric: the CPU number for a CPU,
	// the slots after the highest CPU for other kinds in order.
	Slot uint32
	// Position is the device's place in fabric (scene) space.
	Position [3]float32
	// Fixed marks a position given by a fabric file: the layout keeps it.
	Fixed bool
	// Capacity in demand units, EnergyCost relative (see Energy);
	// EnergySet marks an energy a fabric file gave for this device, which
	// a policy's per-kind table does not override.
	Capacity   float32
	EnergyCost float32
	EnergySet  bool
	// Sensor is the temperature source mapped to the device ("" = model).
	Sensor string
}

// Fabric is a machine's devices in slot order.
type Fabric struct {
	// Source is where it came from: "sys", "file" or "scene".
	Source string
	// Thermal is "sensors" when temperatures are read from the machine,
	// "model" when the scheduler's thermal model stands in.
	Thermal string
	Devices []Device
}

// Warning is a problem discovery worked around: the path it concerns and
// what was assumed instead.
type Warning struct {
	Path, Msg string
}

func (w Warning) String() string { return w.Path + ": " + w.Msg }

// Counts returns the number of CPUs, distinct packages, distinct NUMA
// nodes and GPUs.
func (f *Fabric) Counts() (cpus, packages, numa, gpus int) {
	pk, nn := map[int]bool{}, map[int]bool{}
	for _, d := range f.Devices {
		switch d.Kind {
		case KindCPU:
			cpus++
			pk[d.Package] = true
			nn[d.NUMA] = true
		case KindGPU:
			gpus++
		}
	}
	return cpus, len(pk), len(nn), gpus
}

// Marker is the text of the RAYOS_BOOT:fabric marker.
func (f *Fabric) Marker() string {
	c, p, n, g := f.Counts()
	th := f.Thermal
	if th == "" {
		th = "model"
	}
	return fmt.Sprintf("source=%s cpus=%d packages=%d numa=%d gpus=%d thermal=%s", f.Source, c, p, n, g, th)
}

// GPU is a device the compute backend enumerated.
type GPU struct {
	// Name is the backend's device name (the model).
	Name string
	Kind Kind
	// NUMA is the node of its PCIe root; the backend does not say, so the
	// boot passes 0 (documented).
	NUMA int
}

// AddGPUs appends the backend's devices as gpu0, gpu1, … (npu0, … for
// NPUs) and lays the fabric out again.
func (f *Fabric) AddGPUs(gpus []GPU) {
	n := map[Kind]int{}
	for _, g := range gpus {
		f.Devices = append(f.Devices, Device{
			Name: fmt.Sprintf("%s%d", g.Kind, n[g.Kind]), Kind: g.Kind, Model: g.Name,
			CPU: -1, Package: -1, Core: -1, NUMA: max(g.NUMA, 0), Cache: -1,
			Capacity: DefaultCapacity(g.Kind), EnergyCost: DefaultEnergy[min(int(g.Kind), 2)],
		})
		n[g.Kind]++
	}
	f.finish()
}

// SetEnergy applies a per-kind energy table to every device whose energy
// a fabric file did not set.
func (f *Fabric) SetEnergy(e Energy) {
	for i := range f.Devices {
		d := &f.Devices[i]
		if !d.EnergySet && int(d.Kind) < len(e) {
			d.EnergyCost = e[d.Kind]
		}
	}
}

// finish orders the devices (CPUs by number, then the others by kind and
// insertion), assigns slots and lays out the unfixed positions.
func (f *Fabric) finish() {
	slices.SortStableFunc(f.Devices, func(a, b Device) int {
		ac, bc := a.Kind == KindCPU, b.Kind == KindCPU
		switch {
		case ac && bc:
			return a.CPU - b.CPU
		case ac:
			return -1
		case bc:
			return 1
		}
		return 0
	})
	next := uint32(0)
	for i := range f.Devices {
		if d := &f.Devices[i]; d.Kind == KindCPU {
			d.Slot = uint32(d.CPU)
			next = max(next, d.Slot+1)
		}
	}
	for i := range f.Devices {
		if d := &f.Devices[i]; d.Kind != KindCPU {
			d.Slot = next
			next++
		}
	}
	layout(f.Devices)
}

// IdleCelsius is the temperature a device starts at before a sensor or the
// scheduler's thermal model says otherwise.
const IdleCelsius = 35
