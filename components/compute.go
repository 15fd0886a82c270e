package components

// ComputeTask is a unit of compute that RayOS places in space: near its data,
// on a device that is cool, cheap and not overloaded.
//
// GPU-mirrored, std430, 32 bytes:
//
//	offset  field
//	     0  Affinity  vec3
//	    12  Demand    float
//	    16  Priority  float
//	    20  Class     uint
//	    24  AllowLo   uint
//	    28  AllowHi   uint
type ComputeTask struct {
	// Affinity is the scene-space position of the task's data; the closer a
	// device, the cheaper the placement.
	Affinity Vec3 `json:"affinity"`
	// Demand is the capacity the task consumes on its device, in the same
	// units as Device.Capacity.
	Demand float32 `json:"demand"`
	// Priority weighs the task: higher-priority tasks pay less for load and
	// heat, so they land on the best devices first.
	Priority float32 `json:"priority"`
	// Class is a workload class (0 any; bit i requires Device.Kind i).
	Class uint32 `json:"class"`
	// AllowLo and AllowHi are a 64-bit mask of the device slots the task
	// may run on (bit s of AllowHi<<32|AllowLo allows Device.Slot s); 0
	// allows every device. A policy's CPU set for a guest's vCPUs becomes
	// this mask. A device with a slot of 64 or more takes only tasks
	// without a mask.
	AllowLo uint32 `json:"allow_lo,omitempty"`
	AllowHi uint32 `json:"allow_hi,omitempty"`
}

// Allows reports whether the task may run on the device in slot.
func (t *ComputeTask) Allows(slot uint32) bool {
	mask := uint64(t.AllowHi)<<32 | uint64(t.AllowLo)
	if mask == 0 {
		return true
	}
	return slot < 64 && mask&(1<<slot) != 0
}

// Device is a place where compute can run: a GPU, a CPU socket, an
// accelerator.
//
// GPU-mirrored, std430, 48 bytes:
//
//	offset  field
//	     0  Position     vec3
//	    12  Capacity     float
//	    16  Load         float
//	    20  Temperature  float
//	    24  EnergyCost   float
//	    28  Kind         uint
//	    32  Slot         uint
//	    36  Pad          uint[3]
type Device struct {
	// Position is the device's place in scene space (its data locality).
	Position Vec3 `json:"position"`
	// Capacity is how much Demand the device can carry (> 0).
	Capacity float32 `json:"capacity"`
	// Load is the Demand currently placed on the device.
	Load float32 `json:"load"`
	// Temperature in °C.
	Temperature float32 `json:"temperature"`
	// EnergyCost is the relative cost of one unit of demand-time here.
	EnergyCost float32 `json:"energy_cost"`
	// Kind is the device class bit index (0 GPU, 1 CPU, 2 NPU).
	Kind uint32 `json:"kind"`
	// Slot is the device's slot in the fabric — the host CPU number for a
	// CPU device — that ComputeTask.Allows tests: a task whose mask lacks
	// it is never placed here. Devices without a fabric keep 0.
	Slot uint32 `json:"slot"`
	// Pad keeps the std430 array stride a multiple of 16 bytes.
	Pad [3]uint32 `json:"-"`
}

// Placement is where a ComputeTask was put and why: the chosen device and
// the named cost terms whose sum chose it (lowest total wins), so that every
// placement can be explained.
//
// GPU-mirrored, std430, 32 bytes:
//
//	offset  field
//	     0  Device    uint   (entity ID of the chosen Device, 0 = none)
//	     4  Cost      float  (sum of the terms)
//	     8  Locality  float
//	    12  Load      float
//	    16  Thermal   float
//	    20  Energy    float
//	    24  Priority  float
//	    28  Tick      uint   (tick of the decision, truncated to 32 bits;
//	                          with Device 0, the tick the task's last
//	                          decision was turned away, 0 if none was)
type Placement struct {
	Device   uint32  `json:"device"`
	Cost     float32 `json:"cost"`
	Locality float32 `json:"locality"`
	Load     float32 `json:"load"`
	Thermal  float32 `json:"thermal"`
	Energy   float32 `json:"energy"`
	Priority float32 `json:"priority"`
	Tick     uint32  `json:"tick"`
}

// SchedStats is the world resource in which the scheduler counts task
// migrations (not GPU-mirrored; telemetry of what happened, not state a
// decision reads): those of the last tick and since boot, per
// MigrationReason (index 0 unused). Synthetic tasks are only counted here;
// named ones also get a RAYOS_SCHED marker.
type SchedStats struct {
	Tick  uint64    `json:"tick"`
	Last  [7]uint64 `json:"last"`
	Total [7]uint64 `json:"total"`
	// Hot is how many devices are above the thermal threshold (shedding,
	// taking no work) after the last tick.
	Hot int `json:"hot"`
}
