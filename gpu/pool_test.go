package gpu

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Hooks for the external tests of the CPU backend's pool (cpu_test.go).

// SerialBelow is the estimated work (ns) under which a batch runs on the
// caller alone.
const SerialBelow = serialBelow

// LastBatchChunks is how many chunks the CPU backend b ran its last batch
// of kernels in: one per kernel step when it ran them serially.
func LastBatchChunks(b Backend) int { return b.(*cpuBackend).pool.lastChunks }

// PoolWorkers is how many worker goroutines b's pool has running.
func PoolWorkers(b Backend) int { return b.(*cpuBackend).pool.workers }

// The chunks of a batch tile each step's elements in order, exactly once,
// whatever the sizes, costs and thread counts; below the threshold each
// step is one chunk, an appending step without room in its list for every
// element never splits, and a split batch has about chunksPerThread chunks
// per thread, none under minChunk.
func TestPlanTilesEveryStep(t *testing.T) {
	hit, _ := kernelByName("hit")
	compose, _ := kernelByName("compose")
	for _, workers := range []int{0, 1, 3, 15} {
		for _, n := range []int{0, 1, 2, 7, 1000, 4097, 100_000} {
			for _, cost := range []int{1, 50, 1025, 1 << 20} {
				p := &pool{workers: workers}
				// The hit step's list has room for every element; the
				// second hit step's list is one entry short.
				roomy, short := make([]byte, n*hit.item), make([]byte, max(0, n-1)*hit.item)
				p.steps = append(p.steps,
					poolStep{k: compose, n: n, cost: cost},
					poolStep{k: hit, n: n, cost: cost, bufs: [maxBindings][]byte{5: roomy}},
					poolStep{k: hit, n: n, cost: cost, bufs: [maxBindings][]byte{5: short}},
					poolStep{k: compose, n: 1, cost: cost})
				p.work = (3*n + 1) * cost
				parallel := p.plan()
				name := fmt.Sprintf("workers %d, %d × %d ns", workers, n, cost)
				if want := workers > 0 && p.work >= serialBelow; parallel != want {
					t.Fatalf("%s: parallel %t", name, parallel)
				}
				seen := 0
				for i, s := range p.steps {
					chunks := p.chunks[s.first : s.first+s.chunks]
					seen += len(chunks)
					next := 0
					for j, ch := range chunks {
						if ch.step != i || ch.lo != next || ch.hi < ch.lo || ch.hi > s.n || ch.hi == ch.lo && s.n > 0 {
							t.Fatalf("%s, step %d: chunk %+v after %d", name, i, ch, next)
						}
						if j < len(chunks)-1 && (ch.hi-ch.lo)*cost < minChunk {
							t.Errorf("%s, step %d: a chunk of %d elements, under %d ns", name, i, ch.hi-ch.lo, minChunk)
						}
						next = ch.hi
					}
					if next != s.n {
						t.Fatalf("%s, step %d: chunks end at %d", name, i, next)
					}
					if (!parallel || i >= 2) && len(chunks) != 1 {
						t.Fatalf("%s, step %d: %d chunks, want 1 (the twin)", name, i, len(chunks))
					}
					for _, o := range p.steps {
						if len(chunks) > 1 && o.chunks == 1 && o.first < s.first {
							t.Errorf("%s, step %d: a split step after a single chunk", name, i)
						}
					}
				}
				if seen != len(p.chunks) {
					t.Fatalf("%s: %d chunks, the steps own %d", name, len(p.chunks), seen)
				}
				if most := (1+workers)*chunksPerThread + len(p.steps); len(p.chunks) > most {
					t.Errorf("%s: %d chunks, more than %d per thread and one per step", name, len(p.chunks), chunksPerThread)
				}
			}
		}
	}
}

// WorkersStarted is how many worker goroutines all pools ever started.
func WorkersStarted() int64 { return workersStarted.Load() }

// LiveWorkers is how many of b's workers are running.
func LiveWorkers(b Backend) int { return int(b.(*cpuBackend).pool.live.Load()) }

// A CPU backend dropped without Close stops its workers once it is
// garbage: tests and tools that never close theirs do not leak goroutines.
func TestDroppedBackendStopsItsWorkers(t *testing.T) {
	p := dropBackend()
	for i := 0; p.live.Load() > 0 && i < 1000; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := p.live.Load(); n != 0 {
		t.Fatalf("%d workers still running after the backend became garbage", n)
	}
}

// dropBackend makes a backend with workers, uses it and lets it go,
// returning only its pool.
//
//go:noinline
func dropBackend() *pool {
	b := NewCPUWorkers(3).(*cpuBackend)
	if b.pool.live.Load() != 2 {
		panic("the pool did not start its workers")
	}
	return b.pool
}

// BenchmarkPoolWake is how long a parked worker takes to join a batch,
// as it is parked between ticks: every 2 ms a batch of two chunks, the
// first taken spins for 1 ms (so the caller does not block and lend the
// worker its own thread), the second notes when it started; wake-µs is
// the mean delay from the batch's start to the second chunk's.
func BenchmarkPoolWake(b *testing.B) {
	var start time.Time
	var first atomic.Bool
	var late time.Duration
	k := &kernel{name: "wake", bindings: 1, run: func([][]byte, int, int, int) int {
		if first.CompareAndSwap(false, true) {
			for time.Since(start) < time.Millisecond {
			}
		} else {
			late += time.Since(start)
		}
		return 0
	}}
	p := newPool(1)
	defer p.stop()
	for b.Loop() {
		time.Sleep(2 * time.Millisecond)
		first.Store(false)
		p.steps = append(p.steps, poolStep{k: k, n: 2, cost: serialBelow})
		p.work = 2 * serialBelow
		start = time.Now()
		p.run()
	}
	b.ReportMetric(float64(late.Microseconds())/float64(b.N), "wake-µs")
}
