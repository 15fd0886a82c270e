package policy

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MaxSetCPU is one more than the highest host CPU a CPU set may name: the
// set becomes a 64-bit mask of device slots (ComputeTask.AllowLo/AllowHi).
const MaxSetCPU = 64

// CPUSpec is a guest's cpus key, which takes one of two forms:
//
//	cpus = 2          a count: the VM gets at most 2 vCPUs (the registry's extra ones are not defined)
//	cpus = "0-1,3"    a CPU set: its vCPUs and emulator thread run only on host CPUs 0, 1 and 3
//
// The zero value sets neither.
type CPUSpec struct {
	// Count caps the VM's vCPUs (0: not set).
	Count int
	// Set is the CPU set as written ("" when the key is a count or
	// absent); Mask is it as a mask (bit n = host CPU n).
	Set  string
	Mask uint64

	raw any // what the file held, checked by Load with its line
}

// UnmarshalTOML implements toml.Unmarshaler: the value is kept and checked
// by Load, which names the file and line of a bad one.
func (c *CPUSpec) UnmarshalTOML(v any) error {
	c.raw = v
	switch v := v.(type) {
	case int64:
		if v >= 0 && v <= MaxCPUs {
			c.Count = int(v)
		}
	case string:
		c.Set = v
		c.Mask, _ = ParseCPUSet(v)
	}
	return nil
}

// check reports what is wrong with a cpus value that was present.
func (c *CPUSpec) check() error {
	switch v := c.raw.(type) {
	case int64:
		if v < 1 || v > MaxCPUs {
			return fmt.Errorf("%d is out of range [1, %d]", v, MaxCPUs)
		}
		return nil
	case string:
		_, err := ParseCPUSet(v)
		return err
	}
	return fmt.Errorf("must be a vCPU count (cpus = 2) or a host CPU set (cpus = \"0-1,3\"), not %T", c.raw)
}

// ParseCPUSet reads a CPU set in the kernel's list form ("0-1,3"): CPU
// numbers and inclusive ranges, comma-separated, each below MaxSetCPU. An
// empty set, a reversed range or a CPU listed twice is refused.
func ParseCPUSet(text string) (uint64, error) {
	var mask uint64
	if strings.TrimSpace(text) == "" {
		return 0, fmt.Errorf("the CPU set %q is empty (leave cpus out to allow every CPU)", text)
	}
	for part := range strings.SplitSeq(text, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := cpuNumber(lo, text)
		if err != nil {
			return 0, err
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi, text); err != nil {
				return 0, err
			}
			if b < a {
				return 0, fmt.Errorf("%q in the CPU set %q runs backwards", part, text)
			}
		}
		for n := a; n <= b; n++ {
			if mask&(1<<n) != 0 {
				return 0, fmt.Errorf("CPU %d is listed twice in the CPU set %q", n, text)
			}
			mask |= 1 << n
		}
	}
	return mask, nil
}

func cpuNumber(s, set string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q in the CPU set %q is not a CPU number", s, set)
	}
	if n >= MaxSetCPU {
		return 0, fmt.Errorf("CPU %d in the CPU set %q is out of range [0, %d]", n, set, MaxSetCPU-1)
	}
	return n, nil
}

// FormatCPUSet spells a mask in the list form ParseCPUSet reads ("" for 0).
func FormatCPUSet(mask uint64) string {
	var parts []string
	for mask != 0 {
		a := bits.TrailingZeros64(mask)
		b := a
		for b+1 < 64 && mask&(1<<(b+1)) != 0 {
			b++
		}
		if a == b {
			parts = append(parts, strconv.Itoa(a))
		} else {
			parts = append(parts, strconv.Itoa(a)+"-"+strconv.Itoa(b))
		}
		mask &^= (uint64(1)<<(b-a+1) - 1) << a
	}
	return strings.Join(parts, ",")
}
