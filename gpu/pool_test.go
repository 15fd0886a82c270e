package gpu

import (
	"runtime"
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
// step is one chunk, and an appending step without room in its list for
// every element never splits.
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
					poolStep{k: hit, n: n, cost: cost, bufs: [8][]byte{4: roomy}},
					poolStep{k: hit, n: n, cost: cost, bufs: [8][]byte{4: short}})
				p.work = 3 * n * cost
				parallel := p.plan()
				if want := workers > 0 && p.work >= serialBelow; parallel != want {
					t.Fatalf("workers %d, %d × %d ns: parallel %t", workers, n, cost, parallel)
				}
				c := p.chunks
				for i, s := range p.steps {
					chunks := c[:s.chunks]
					c = c[s.chunks:]
					next := 0
					for _, ch := range chunks {
						if ch.step != i || ch.lo != next || ch.hi < ch.lo || ch.hi > n || ch.hi == ch.lo && n > 0 {
							t.Fatalf("workers %d, %d × %d ns, step %d: chunk %+v after %d", workers, n, cost, i, ch, next)
						}
						next = ch.hi
					}
					if next != n {
						t.Fatalf("workers %d, %d × %d ns, step %d: chunks end at %d", workers, n, cost, i, next)
					}
					if (!parallel || i == 2) && len(chunks) != 1 {
						t.Fatalf("workers %d, %d × %d ns, step %d: %d chunks, want 1 (the twin)", workers, n, cost, i, len(chunks))
					}
					if parallel && i < 2 && n > 1 {
						if len(chunks) > (1+workers)*chunksPerThread {
							t.Errorf("workers %d, %d × %d ns, step %d: %d chunks, more than %d per thread", workers, n, cost, i, len(chunks), chunksPerThread)
						}
						if len(chunks) > 1 && (chunks[0].hi-chunks[0].lo)*cost < minChunk {
							t.Errorf("workers %d, %d × %d ns, step %d: chunks of %d elements, under %d ns", workers, n, cost, i, chunks[0].hi-chunks[0].lo, minChunk)
						}
					}
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
