package gpu

import (
	"errors"
	"fmt"
	"time"
)

// Role is what a buffer is for, which decides the memory it lives in. On
// a discrete GPU the three differ (docs/gpu.md): the CPU reads
// write-combined or uncached memory at tens of MB/s, so it reads only
// readback buffers, which a program fills with a copy step.
type Role uint8

// Buffer roles.
const (
	// RoleUpload is written by the CPU, sequentially, and read by the
	// kernels; the CPU never reads it. Device-local and host-visible where
	// the device has such memory (a BAR heap), else host-visible.
	RoleUpload Role = iota
	// RoleDevice is written and read by kernels only: outputs and
	// scratch. Device-local; the CPU gets at it only through a copy into a
	// readback buffer.
	RoleDevice
	// RoleReadback is filled by a program's copy steps and read by the
	// CPU: host-visible and host-cached.
	RoleReadback
)

// RoleNames spells the roles.
var RoleNames = [...]string{RoleUpload: "upload", RoleDevice: "device", RoleReadback: "readback"}

// Buffer is a persistent storage buffer on a backend. It is created once
// with its role, stays mapped where its role and the device allow, and is
// addressed by byte offsets.
type Buffer struct {
	id   int
	size int
	role Role
}

// Size is the buffer's length in bytes.
func (b Buffer) Size() int { return b.size }

// Role is what the buffer is for.
func (b Buffer) Role() Role { return b.role }

// Valid reports whether b was returned by NewBuffer.
func (b Buffer) Valid() bool { return b.size > 0 }

// Dispatch is one step of a program: a kernel invocation, or a copy.
//
// A kernel step names the kernel, its buffers in binding order and the
// number of workgroups. Kernels loop grid-stride over their element counts
// (read from their params buffer), so Groups bounds the parallelism, never
// the amount of work. With Indirect set, the workgroup count is read when
// the program runs from Indirect at IndirectOffset (three uint32: x, y, z),
// so a program recorded once can run each kernel at the size of this
// tick's data, or not at all (x = 0). Groups is then ignored by backends
// that honour it.
//
// A copy step (Kernel empty) copies CopyBytes from the start of CopyFrom
// to the start of CopyTo, a readback buffer: how results reach the CPU.
type Dispatch struct {
	Kernel         string
	Buffers        []Buffer
	Groups         uint32
	Indirect       Buffer
	IndirectOffset int

	CopyFrom, CopyTo Buffer
	CopyBytes        int
}

// Program is a recorded sequence of steps, submitted as one unit. Its
// kernel steps must be independent of each other (they run without
// barriers between them, possibly at the same time); every copy step sees
// what all the kernel steps before it wrote.
type Program struct{ id int }

// Info says which backend and device run the kernels.
type Info struct {
	// Backend is "cpu" or "vulkan".
	Backend string `json:"backend"`
	// Device is the device's name ("llvmpipe (LLVM 15.0.6, 256 bits)").
	Device string `json:"device"`
	// Type is the device type: "cpu", "discrete", "integrated", "virtual".
	Type string `json:"type"`
	// Memory says how buffers are placed ("host-visible device-local").
	Memory string `json:"memory"`
}

// Stats counts a backend's traffic since it was opened.
type Stats struct {
	BytesUploaded uint64 `json:"bytes_uploaded"`
	BytesRead     uint64 `json:"bytes_read"`
	Writes        uint64 `json:"writes"`
	Submits       uint64 `json:"submits"`
}

// Backend is a compute device.
type Backend interface {
	Info() Info
	// NewBuffer creates a persistent buffer of size bytes for role, zeroed.
	NewBuffer(size int, role Role) (Buffer, error)
	// Free releases a buffer no program in flight uses any more.
	Free(b Buffer)
	// Write copies data into an upload buffer at offset: the upload of
	// one dirty range.
	Write(b Buffer, offset int, data []byte) error
	// Read copies len(dst) bytes of a readback buffer at offset into dst.
	// Call it after Wait, or it races with the device.
	Read(b Buffer, offset int, dst []byte) error
	// Record builds a program once; Submit may then run it many times.
	Record(steps []Dispatch) (Program, error)
	// Release frees a program that will not be submitted again.
	Release(p Program)
	// Submit starts the program; it waits first for the previous submit.
	Submit(p Program) error
	// Wait blocks until the last submitted program has finished.
	Wait() error
	// Stats reports traffic counters.
	Stats() Stats
	// Close waits for the device and frees everything.
	Close() error
}

// Mapper is implemented by backends whose upload buffers are mapped into
// the process for their whole life (both of ours are). The mirror then
// writes component values straight into the buffer the kernels read — one
// copy, no staging — and reports the bytes with CountUpload. Mapped returns
// nil for a buffer of another role. Write it only while no program runs
// (between Wait and Submit), and only sequentially: on a discrete GPU it
// is write-combined memory, which reading would make crawl.
type Mapper interface {
	Mapped(b Buffer) []byte
	CountUpload(bytes, writes int)
}

// Timer is implemented by backends that time the steps of a program on
// the device (GPU timestamps on Vulkan), so that benchmarks can tell kernel
// time from upload and readback time.
//
// Programs are timed by default on a GPU, where timestamps cost next to
// nothing, and not on a CPU device (lavapipe), where each one waits for
// all work before it.
type Timer interface {
	// StepTimes returns how long each step of p took in its last run that
	// finished, in step order (kernels may overlap: a step's time is from
	// the end of the one before it to its own end), or nil when p is not
	// timed or has not run.
	StepTimes(p Program) []time.Duration
	// SetTiming turns timing on or off for the programs recorded from now
	// on, and reports whether it is on (never where the device cannot
	// write timestamps).
	SetTiming(on bool) bool
}

// MaxGroups is the most workgroups one dispatch may ask for: Vulkan only
// guarantees 65535 per dimension, and lavapipe enforces it.
const MaxGroups = 65535

// LocalSize is the workgroup size every kernel is compiled with.
const LocalSize = 64

// GroupsFor returns the workgroup count that covers n elements at one
// element per invocation, capped at MaxGroups (the kernels' grid-stride
// loops do the rest). Never 0.
func GroupsFor(n int) uint32 {
	g := (n + LocalSize - 1) / LocalSize
	return uint32(max(1, min(g, MaxGroups)))
}

// checkRange reports an access outside b.
func checkRange(b Buffer, offset, n int) error {
	if !b.Valid() {
		return errors.New("gpu: invalid buffer")
	}
	if offset < 0 || n < 0 || offset+n > b.size {
		return fmt.Errorf("gpu: range [%d, %d) outside buffer of %d bytes", offset, offset+n, b.size)
	}
	return nil
}

// checkRole reports a buffer used for what its role does not allow.
func checkRole(b Buffer, want Role, what string) error {
	if b.role != want {
		return fmt.Errorf("gpu: %s needs a%s %s buffer, this one is for %s", what, map[bool]string{true: "n", false: ""}[want == RoleUpload], RoleNames[want], RoleNames[b.role])
	}
	return nil
}

// checkSteps validates a program against the kernel table.
func checkSteps(steps []Dispatch, valid func(Buffer) bool) error {
	if len(steps) == 0 {
		return errors.New("gpu: empty program")
	}
	for i, s := range steps {
		if s.Kernel == "" {
			if !valid(s.CopyFrom) || !valid(s.CopyTo) {
				return fmt.Errorf("gpu: step %d: copy between buffers that are not this backend's", i)
			}
			if err := checkRole(s.CopyTo, RoleReadback, "a copy step's destination"); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
			if s.CopyBytes <= 0 || s.CopyBytes > s.CopyFrom.size || s.CopyBytes > s.CopyTo.size {
				return fmt.Errorf("gpu: step %d: copy of %d bytes from a %d-byte buffer to a %d-byte one", i, s.CopyBytes, s.CopyFrom.size, s.CopyTo.size)
			}
			continue
		}
		k, ok := kernelByName(s.Kernel)
		if !ok {
			return fmt.Errorf("gpu: step %d: unknown kernel %q", i, s.Kernel)
		}
		if len(s.Buffers) != k.bindings {
			return fmt.Errorf("gpu: step %d: kernel %s takes %d buffers, got %d", i, s.Kernel, k.bindings, len(s.Buffers))
		}
		if s.Indirect.Valid() {
			if !valid(s.Indirect) || s.IndirectOffset < 0 || s.IndirectOffset%4 != 0 || s.IndirectOffset+12 > s.Indirect.Size() {
				return fmt.Errorf("gpu: step %d: indirect arguments at offset %d do not fit a buffer of this backend", i, s.IndirectOffset)
			}
		} else if s.Groups == 0 || s.Groups > MaxGroups {
			return fmt.Errorf("gpu: step %d: %d workgroups (want 1..%d)", i, s.Groups, MaxGroups)
		}
		for j, b := range s.Buffers {
			if !valid(b) {
				return fmt.Errorf("gpu: step %d (%s): binding %d is not a buffer of this backend", i, s.Kernel, j)
			}
			if b.role == RoleReadback {
				return fmt.Errorf("gpu: step %d (%s): binding %d is a readback buffer; kernels write device buffers, which copy steps read back", i, s.Kernel, j)
			}
		}
	}
	return nil
}

// Fetch reads len(dst) bytes of any buffer at offset, through a readback
// buffer and a one-off copy program: for tests and verification, never for
// a tick (it waits for the device and allocates).
func Fetch(b Backend, buf Buffer, offset int, dst []byte) error {
	if err := checkRange(buf, offset, len(dst)); err != nil || len(dst) == 0 {
		return err
	}
	if buf.role == RoleReadback {
		return b.Read(buf, offset, dst)
	}
	rb, err := b.NewBuffer(offset+len(dst), RoleReadback)
	if err != nil {
		return err
	}
	defer b.Free(rb)
	p, err := b.Record([]Dispatch{{CopyFrom: buf, CopyTo: rb, CopyBytes: offset + len(dst)}})
	if err != nil {
		return err
	}
	defer b.Release(p)
	if err := errors.Join(b.Wait(), b.Submit(p), b.Wait()); err != nil {
		return err
	}
	return b.Read(rb, offset, dst)
}
