package gpu

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// cpuBackend runs the kernels' Go twins, on every core: a pool of workers
// started with the backend runs a program's kernels in chunks (pool.go),
// with results identical to the serial twins'. It is the reference every
// other backend is compared with, and the fallback when no GPU is usable.
type cpuBackend struct {
	buffers  [][]byte
	roles    []Role
	programs [][]Dispatch
	stats    Stats
	pool     *pool
}

// NewCPU returns the pure-Go backend, running its kernels on GOMAXPROCS
// threads (the calling goroutine and GOMAXPROCS-1 workers).
func NewCPU() Backend { return NewCPUWorkers(runtime.GOMAXPROCS(0)) }

// NewCPUWorkers returns the pure-Go backend running its kernels on
// threads goroutines, the caller's included: 1 (or less) runs every kernel
// serially on the caller, as the twins do. The benchmarks compare the two.
//
// The workers stop on Close, or when the backend is garbage (many tests
// and tools never close their CPU backend).
func NewCPUWorkers(threads int) Backend {
	c := &cpuBackend{pool: newPool(threads - 1)}
	runtime.AddCleanup(c, func(p *pool) { p.stop() }, c.pool)
	return c
}

func (c *cpuBackend) Info() Info {
	// The thread count is part of the device: a CPU figure means little
	// without it.
	return Info{Backend: "cpu", Device: fmt.Sprintf("Go %s %s/%s, %d threads", runtime.Version(), runtime.GOOS, runtime.GOARCH, 1+c.pool.workers), Type: "cpu", Memory: "host"}
}

func (c *cpuBackend) NewBuffer(size int, role Role) (Buffer, error) {
	if size <= 0 {
		return Buffer{}, fmt.Errorf("gpu: buffer size %d", size)
	}
	if int(role) >= len(RoleNames) {
		return Buffer{}, fmt.Errorf("gpu: unknown buffer role %d", role)
	}
	// Backed by uint64s so every kernel type is aligned in it.
	words := make([]uint64, (size+7)/8)
	c.buffers = append(c.buffers, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), size))
	c.roles = append(c.roles, role)
	return Buffer{id: len(c.buffers) - 1, size: size, role: role}, nil
}

// Free implements Backend: the memory goes back to Go's heap.
func (c *cpuBackend) Free(b Buffer) {
	if c.valid(b) {
		c.buffers[b.id] = nil
	}
}

func (c *cpuBackend) valid(b Buffer) bool {
	return b.id >= 0 && b.id < len(c.buffers) && len(c.buffers[b.id]) == b.size && c.roles[b.id] == b.role
}

// The CPU backend keeps every role in host memory, but enforces the roles
// as a GPU would need them, so that code written against it is right on
// a discrete GPU too.
func (c *cpuBackend) Write(b Buffer, offset int, data []byte) error {
	if err := checkRange(b, offset, len(data)); err != nil || !c.valid(b) {
		return errors.Join(err, c.foreign(b))
	}
	if err := checkRole(b, RoleUpload, "Write"); err != nil {
		return err
	}
	copy(c.buffers[b.id][offset:], data)
	c.stats.BytesUploaded += uint64(len(data))
	c.stats.Writes++
	return nil
}

func (c *cpuBackend) Read(b Buffer, offset int, dst []byte) error {
	if err := checkRange(b, offset, len(dst)); err != nil || !c.valid(b) {
		return errors.Join(err, c.foreign(b))
	}
	if err := checkRole(b, RoleReadback, "Read"); err != nil {
		return err
	}
	copy(dst, c.buffers[b.id][offset:])
	c.stats.BytesRead += uint64(len(dst))
	return nil
}

func (c *cpuBackend) foreign(b Buffer) error {
	if c.valid(b) {
		return nil
	}
	return errors.New("gpu: buffer does not belong to this backend")
}

func (c *cpuBackend) Record(steps []Dispatch) (Program, error) {
	if err := checkSteps(steps, c.valid); err != nil {
		return Program{}, err
	}
	c.programs = append(c.programs, append([]Dispatch(nil), steps...))
	return Program{id: len(c.programs) - 1}, nil
}

func (c *cpuBackend) Release(p Program) {
	if p.id >= 0 && p.id < len(c.programs) {
		c.programs[p.id] = nil
	}
}

func (c *cpuBackend) Submit(p Program) error {
	if p.id < 0 || p.id >= len(c.programs) || c.programs[p.id] == nil {
		return errors.New("gpu: submit of an unknown or released program")
	}
	// Consecutive kernel steps are independent (Program's contract), so
	// they run as one batch; a copy step sees every kernel before it.
	steps := c.programs[p.id]
	c.pool.reset() // a step whose setup panicked last time left the batch half filled
	for i := 0; i < len(steps); i++ {
		step := &steps[i]
		if step.Kernel == "" {
			copy(c.buffers[step.CopyTo.id][:step.CopyBytes], c.buffers[step.CopyFrom.id])
			continue
		}
		// An indirect dispatch of zero workgroups does not run, as on a
		// GPU: the program stays the same, the kernel has nothing to do.
		if !step.Indirect.Valid() || view[uint32](c.buffers[step.Indirect.id][step.IndirectOffset:])[0] != 0 {
			k, _ := kernelByName(step.Kernel)
			c.pool.add(k, step.Buffers, c.buffers)
		}
		if i+1 == len(steps) || steps[i+1].Kernel == "" {
			c.pool.run()
		}
	}
	c.stats.Submits++
	return nil
}

func (c *cpuBackend) Wait() error  { return nil }
func (c *cpuBackend) Stats() Stats { return c.stats }

// Close stops the workers and drops every buffer and program.
func (c *cpuBackend) Close() error {
	c.pool.stop()
	c.buffers, c.roles, c.programs = nil, nil, nil
	return nil
}

// Mapped implements Mapper.
func (c *cpuBackend) Mapped(b Buffer) []byte {
	if !c.valid(b) || b.role != RoleUpload {
		return nil
	}
	return c.buffers[b.id]
}

// CountUpload implements Mapper.
func (c *cpuBackend) CountUpload(bytes, writes int) {
	c.stats.BytesUploaded += uint64(bytes)
	c.stats.Writes += uint64(writes)
}
