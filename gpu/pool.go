package gpu

import (
	"sync"
	"sync/atomic"
)

// The CPU backend's worker pool. A program's consecutive kernel steps are
// independent by contract, so they form one batch: each step is cut into
// chunks of elements (rays, tasks, frame rows), and the caller and the
// workers take chunks from the batch until none is left. Results are the
// serial twins' bit for bit: every element is computed by the same code
// whatever chunk it falls in, a frame row belongs to exactly one band, and
// an appending kernel's chunks append into disjoint regions of its list
// that are then concatenated in chunk order (docs/gpu.md).
//
// The workers start with the backend and wait on a channel between
// batches: a Submit starts no goroutine and allocates nothing once the
// batch's slices have grown to the program's size.

// Chunking. A batch whose estimated work is below serialBelow runs on the
// caller alone. Above it the caller starts on the chunks at once and the
// workers join as they wake: on the development machine (a 2-core VM) a
// parked worker takes 0.1–0.5 ms to start (BenchmarkPoolWake: the
// hypervisor has to wake the idle vCPU), so a smaller batch would be
// nearly done before help arrived, and the wake-up would only burn the
// other core. Every step of a parallel batch is cut into chunks of about
// the same estimated work: the batch's work over threads ×
// chunksPerThread, so that a thread that woke late or drew slow elements
// still finds work to take (the estimates are rough: a place run's is an
// upper bound, 50 times its real work in a rolling window), and never
// under minChunk, so that the
// hand-off of a chunk (an atomic add, a cache miss or two; a compose
// band's walk over the draw order, ~1 µs for 256 surfaces) stays at a few
// percent of it at most.
const (
	serialBelow     = 200_000 // ns of estimated work
	minChunk        = 50_000  // ns of estimated work
	chunksPerThread = 16
)

// pool runs batches of kernel chunks on the calling goroutine and workers
// goroutines. It holds no reference to its backend, so a backend that is
// dropped without Close can still be collected (and its cleanup stops the
// pool).
type pool struct {
	workers int
	wake    chan struct{}  // one token per worker asked to help with a batch
	busy    sync.WaitGroup // workers still in the current batch
	exited  sync.WaitGroup // workers still running
	stopped sync.Once
	live    atomic.Int32 // workers running now, for tests

	// The batch: filled by add, run by run. Written by the caller only
	// while no worker is in a batch (before the tokens are sent, after
	// busy.Wait), so the channel and the WaitGroup order every access.
	steps  []poolStep
	chunks []poolChunk
	next   atomic.Int64 // the next chunk to take
	work   int          // estimated ns of the batch

	lastChunks int // how many chunks the last batch had, for tests

	failed atomic.Bool
	panic  any // the first panic of a chunk, re-raised by run in the caller
	mu     sync.Mutex
}

// poolStep is one kernel step of the batch.
// maxBindings is the most buffers a kernel binds (compose: 10).
const maxBindings = 12

type poolStep struct {
	k      *kernel
	bufs   [maxBindings][]byte // the bound buffers, as the kernel table reads them
	n      int                 // elements
	cost   int                 // estimated ns per element
	at     int                 // an appending kernel's count before the run
	size   int                 // elements per chunk, set by plan
	first  int                 // the step's first chunk, set by plan
	chunks int                 // how many chunks the step has, set by plan
}

// poolChunk is the elements [lo, hi) of a step, and how many entries the
// chunk appended (into the step's list from entry at+lo on).
type poolChunk struct {
	step     int
	lo, hi   int
	appended int
}

// newPool starts workers goroutines (none for 0: every batch then runs on
// the caller, which is the serial twins).
func newPool(workers int) *pool {
	p := &pool{workers: max(0, workers), wake: make(chan struct{}, max(0, workers))}
	p.exited.Add(p.workers)
	p.live.Add(int32(p.workers))
	workersStarted.Add(int64(p.workers))
	for range p.workers {
		go p.worker()
	}
	return p
}

// workersStarted counts the worker goroutines every pool ever started: a
// test checks that submitting starts none.
var workersStarted atomic.Int64

func (p *pool) worker() {
	defer p.exited.Done()
	defer p.live.Add(-1)
	for range p.wake {
		p.take()
		p.busy.Done()
	}
}

// stop ends the workers once; a batch is never in flight then (Submit is
// synchronous and Close is not called during one).
func (p *pool) stop() {
	p.stopped.Do(func() {
		close(p.wake)
		p.exited.Wait()
		p.workers = 0 // a program run after Close runs on the caller
	})
}

// add appends a kernel step to the batch.
func (p *pool) add(k *kernel, bufs []Buffer, mem [][]byte) {
	p.steps = append(p.steps, poolStep{k: k})
	s := &p.steps[len(p.steps)-1]
	for i, b := range bufs {
		s.bufs[i] = mem[b.id]
	}
	b := s.bufs[:k.bindings]
	s.n, s.cost = k.size(b)
	s.n = max(s.n, 0)
	if k.item > 0 {
		s.at = int(view[uint32](b[k.bindings-1])[0])
	}
	p.work += s.n * s.cost
}

// run runs the batch's steps, at the same time where it pays, and empties
// the batch. A panic in a chunk (a kernel reading past a buffer, as the
// serial twin would) is re-raised here once every thread has left the
// batch.
func (p *pool) run() {
	parallel := p.plan()
	helpers := 0
	if parallel {
		helpers = min(p.workers, len(p.chunks)-1)
	}
	p.next.Store(0)
	p.busy.Add(helpers)
	for range helpers {
		p.wake <- struct{}{}
	}
	p.take()
	p.busy.Wait()
	if p.failed.Load() {
		v := p.panic
		p.reset()
		panic(v)
	}
	// Concatenate each appending step's regions in chunk order: the
	// serial twin's list, same entries, same order, same count.
	for i := range p.steps {
		s := &p.steps[i]
		if s.k.item == 0 {
			continue
		}
		chunks := p.chunks[s.first : s.first+s.chunks]
		list := s.bufs[s.k.bindings-2]
		to := s.at
		for _, ch := range chunks {
			if from := s.at + ch.lo; from != to && ch.appended > 0 {
				copy(list[to*s.k.item:(to+ch.appended)*s.k.item], list[from*s.k.item:])
			}
			to += ch.appended
		}
		view[uint32](s.bufs[s.k.bindings-1])[0] = uint32(to)
	}
	p.reset()
}

// plan cuts the batch's steps into chunks and reports whether the workers
// should help; when they should not, every step is one chunk (the twin).
// Chunks of every step are cut to about the same estimated work, the
// batch's share of one thread divided by chunksPerThread (never under
// minChunk), so a big step gets many and a small one a single chunk. The
// steps that are split come first and the single chunks last: the big
// pieces are spread over the threads, the small ones fill the gaps at the
// end. Each step's chunks stay together, in element order.
func (p *pool) plan() (parallel bool) {
	threads := 1 + p.workers
	parallel = p.workers > 0 && p.work >= serialBelow
	target := max(minChunk, p.work/(threads*chunksPerThread))
	for i := range p.steps {
		s := &p.steps[i]
		s.size = max(1, s.n) // one chunk: the twin
		if parallel && s.n > 1 && (s.k.item == 0 || s.roomToSplit()) {
			s.size = max(1, (target+s.cost-1)/max(1, s.cost))
		}
	}
	for pass := range 2 {
		for i := range p.steps {
			s := &p.steps[i]
			if split := s.size < s.n; split != (pass == 0) {
				continue
			}
			s.first = len(p.chunks)
			for lo := 0; ; lo += s.size {
				p.chunks = append(p.chunks, poolChunk{step: i, lo: lo, hi: min(lo+s.size, s.n)})
				if lo+s.size >= s.n {
					break
				}
			}
			s.chunks = len(p.chunks) - s.first
		}
	}
	p.lastChunks = len(p.chunks)
	return parallel
}

// roomToSplit reports whether an appending step's list has room for every
// element to append from entry at on: each chunk then owns the region of
// its elements. A list without that room (never the mirror's) runs as one
// chunk, exactly the twin, which fails where the twin fails.
func (s *poolStep) roomToSplit() bool {
	return len(s.bufs[s.k.bindings-2])/s.k.item-s.at >= s.n
}

// reset empties the batch, dropping its references to buffers (a freed
// buffer's memory goes back to the heap).
func (p *pool) reset() {
	clear(p.steps)
	p.steps, p.chunks, p.work = p.steps[:0], p.chunks[:0], 0
	p.failed.Store(false)
	p.panic = nil
}

// take runs chunks until the batch has none left.
func (p *pool) take() {
	for {
		i := int(p.next.Add(1) - 1)
		if i >= len(p.chunks) {
			return
		}
		p.runChunk(&p.chunks[i])
	}
}

func (p *pool) runChunk(c *poolChunk) {
	defer func() {
		if v := recover(); v != nil {
			p.mu.Lock()
			if !p.failed.Load() {
				p.panic = v
				p.failed.Store(true)
			}
			p.mu.Unlock()
		}
	}()
	s := &p.steps[c.step]
	c.appended = s.k.run(s.bufs[:s.k.bindings], s.at+c.lo, c.lo, c.hi)
}
