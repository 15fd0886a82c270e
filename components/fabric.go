package components

import "strconv"

// FabricNode is what RayOS knows of the hardware a Device entity stands
// for (not GPU-mirrored): where it sits in the machine, so that placement
// can keep work near its data and pinning can name the real CPU.
type FabricNode struct {
	// Name is the device's stable name: "cpu3", "gpu0", or a fabric
	// file's name for it.
	Name string `json:"name"`
	// CPU is the host's logical CPU number for a CPU device, -1 otherwise.
	CPU int `json:"cpu"`
	// Package, Core and NUMA are the CPU's physical package, core within
	// it and NUMA node (-1 when unknown); SMT siblings share Package and
	// Core.
	Package int `json:"package"`
	Core    int `json:"core"`
	NUMA    int `json:"numa"`
	// Sensor is where the device's temperature is read from (a
	// /sys/class/thermal or hwmon path), "" when it follows the thermal
	// model.
	Sensor string `json:"sensor,omitempty"`
}

// DeviceName is how markers and explanations name the device with entity
// id id: its fabric name, or "dev<id>" for a device without one (a
// synthetic scene's; n may be nil); "-" for id 0, no device.
func DeviceName(id uint32, n *FabricNode) string {
	switch {
	case id == 0:
		return "-"
	case n != nil && n.Name != "":
		return n.Name
	}
	return "dev" + strconv.FormatUint(uint64(id), 10)
}

// TaskName names a compute task that stands for something real ("linux/
// vcpu0", "linux/emulator"): markers and `rayos explain placement` use
// it. Synthetic bench tasks have none.
type TaskName struct {
	Text string `json:"text"`
}

// VCPU marks the compute task of one of a guest's virtual CPUs (Index ≥
// 0) or of its emulator thread (Index -1). Its placement is applied
// through the hypervisor as a pinning.
type VCPU struct {
	Guest string `json:"guest"`
	Index int    `json:"index"`
}

// MigrationReason is why a task's placement last changed.
type MigrationReason uint8

// Migration reasons; MigrationReasonNames gives their marker spelling.
const (
	ReasonPlaced     MigrationReason = iota + 1 // first placement
	ReasonCheaper                               // a device costs clearly less (rebalance, with hysteresis)
	ReasonOverload                              // diffusion: its device was over its share, a neighbour had room
	ReasonThermal                               // its device crossed the thermal threshold
	ReasonPolicy                                // the policy's CPU set no longer allows its device
	ReasonDeviceGone                            // its device went away
)

// MigrationReasonNames maps each MigrationReason to its spelling.
var MigrationReasonNames = [...]string{
	ReasonPlaced:     "placed",
	ReasonCheaper:    "cheaper",
	ReasonOverload:   "overload",
	ReasonThermal:    "thermal",
	ReasonPolicy:     "policy",
	ReasonDeviceGone: "device-gone",
}

// Migration is why a task is where it is (not GPU-mirrored): the device
// it came from (0: none), the reason, the tick, and the runner-up — the
// next best device at that decision and its cost (0 when none fitted or it
// was not recorded: runner-ups are kept for named tasks).
type Migration struct {
	From         uint32          `json:"from"`
	Reason       MigrationReason `json:"reason"`
	Tick         uint64          `json:"tick"`
	RunnerUp     uint32          `json:"runner_up,omitempty"`
	RunnerUpCost float32         `json:"runner_up_cost,omitempty"`
}
