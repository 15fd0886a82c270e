package components

// GuestCPUs is what a guest's entity knows of its virtual CPUs (not
// GPU-mirrored): how many the registry gives it and the NUMA node its
// memory lives on. The vcpu system makes one compute task per vCPU (and
// one for the emulator thread) from it while the guest runs.
type GuestCPUs struct {
	// VCPUs is the registry's vcpus (0 is taken as 1).
	VCPUs int `json:"vcpus"`
	// NUMA is the host NUMA node of the guest's memory (0 unless known).
	NUMA int `json:"numa"`
}

// CPUCaps is what the policy in force allows a guest's CPUs (not
// GPU-mirrored); the policy gate rewrites it on every guest whenever the
// policy changes, as it does Guest.Permitted.
type CPUCaps struct {
	// AllowLo and AllowHi are the host CPUs the guest's vCPUs may run on
	// (bit n = host CPU n; 0 = any), copied into its tasks' ComputeTask
	// mask and checked again before a pin is applied.
	AllowLo uint32 `json:"allow_lo,omitempty"`
	AllowHi uint32 `json:"allow_hi,omitempty"`
	// Count caps the VM's vCPUs (0: the registry's): the domain is
	// defined with at most this many, so the world makes no more tasks.
	Count int `json:"count,omitempty"`
	// Max refuses a start outright when the registry asks for more vCPUs
	// (0: no limit).
	Max int `json:"max,omitempty"`
}

// Allows reports whether host CPU cpu is in the caps' set.
func (c *CPUCaps) Allows(cpu int) bool {
	mask := uint64(c.AllowHi)<<32 | uint64(c.AllowLo)
	return mask == 0 || (cpu >= 0 && cpu < 64 && mask&(1<<cpu) != 0)
}

// Pinning is what the hypervisor was last told about a vCPU task (not
// GPU-mirrored): the host CPU applied (-1: never pinned), the pin in flight
// (-1: none) and the CPU a pin last failed for (-1: none), so that a
// refused pinning is not retried until the placement changes.
type Pinning struct {
	Applied  int `json:"applied"`
	InFlight int `json:"in_flight"`
	Failed   int `json:"failed"`
}

// PinText is how a pin's result comes back to the world as an effect
// input's Text: "pin <guest> <vcpu> <cpu> <result>", vcpu -1 for the
// emulator thread and result "ok" or "err: …". Self-describing, so that a
// replay needs neither the hypervisor nor entity ids.
func PinText(guest string, vcpu, cpu int, result string) string {
	return "pin " + guest + " " + itoa(vcpu) + " " + itoa(cpu) + " " + result
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
