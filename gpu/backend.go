package gpu

import (
	"errors"
	"fmt"
)

// Buffer is a persistent storage buffer on a backend. It is created once,
// stays mapped where the device allows, and is addressed by byte offsets.
type Buffer struct {
	id   int
	size int
}

// Size is the buffer's length in bytes.
func (b Buffer) Size() int { return b.size }

// Valid reports whether b was returned by NewBuffer.
func (b Buffer) Valid() bool { return b.size > 0 }

// Dispatch is one kernel invocation in a program: the kernel's buffers in
// binding order and the number of workgroups. Kernels loop grid-stride over
// their element counts (read from their params buffer), so Groups bounds
// the parallelism, never the amount of work.
//
// With Indirect set, the workgroup count is read when the program runs from
// Indirect at IndirectOffset (three uint32: x, y, z), so a program recorded
// once can run each kernel at the size of this tick's data, or not at all
// (x = 0). Groups is then ignored by backends that honour it.
type Dispatch struct {
	Kernel         string
	Buffers        []Buffer
	Groups         uint32
	Indirect       Buffer
	IndirectOffset int
}

// Program is a recorded sequence of dispatches, with memory barriers
// between them, that is submitted as one unit.
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
	// NewBuffer creates a persistent buffer of size bytes, zeroed.
	NewBuffer(size int) (Buffer, error)
	// Write copies data into b at offset: the upload of one dirty range.
	Write(b Buffer, offset int, data []byte) error
	// Read copies len(dst) bytes of b at offset into dst. Call it after
	// Wait, or it races with the device.
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

// Mapper is implemented by backends whose buffers are mapped into the
// process for their whole life (both of ours are). The mirror then writes
// component values straight into the buffer the kernels read — one copy,
// no staging — and reports the bytes with CountUpload. Write it only while
// no program runs (between Wait and Submit).
type Mapper interface {
	Mapped(b Buffer) []byte
	CountUpload(bytes, writes int)
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

// checkSteps validates a program against the kernel table.
func checkSteps(steps []Dispatch, valid func(Buffer) bool) error {
	if len(steps) == 0 {
		return errors.New("gpu: empty program")
	}
	for i, s := range steps {
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
		}
	}
	return nil
}
