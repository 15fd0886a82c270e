package volume

import (
	"runtime"
	"sort"
	"sync"
)

// dot is the inner product; on unit vectors it is the cosine similarity.
// Unrolled by four: the hot loop of both the exact scan and the graph.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// scored is a slot with its similarity to the query.
type scored struct {
	slot int32
	sim  float32
}

// better orders results: higher similarity first, then the lower slot (so
// ties come out the same way on every run).
func better(a, b scored) bool {
	if a.sim != b.sim {
		return a.sim > b.sim
	}
	return a.slot < b.slot
}

// topK keeps the k best scored values seen: a heap with the worst on top.
type topK struct {
	k int
	h []scored
}

func (t *topK) push(s scored) {
	if len(t.h) < t.k {
		t.h = append(t.h, s)
		t.up(len(t.h) - 1)
		return
	}
	if !better(s, t.h[0]) {
		return
	}
	t.h[0] = s
	t.down(0)
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(t.h[p], t.h[i]) {
			break
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		w, l, r := i, 2*i+1, 2*i+2
		if l < n && better(t.h[w], t.h[l]) {
			w = l
		}
		if r < n && better(t.h[w], t.h[r]) {
			w = r
		}
		if w == i {
			return
		}
		t.h[w], t.h[i] = t.h[i], t.h[w]
		i = w
	}
}

// sorted returns the kept values best first.
func (t *topK) sorted() []scored {
	out := append([]scored(nil), t.h...)
	sort.Slice(out, func(i, j int) bool { return better(out[i], out[j]) })
	return out
}

// parallelBelow is the slot count under which the exact scan stays on one
// goroutine: starting goroutines costs more than scanning a few thousand
// 64-d vectors.
const parallelBelow = 16384

// exactSearch scans every live slot of vecs (dim floats each) and returns
// the k most similar to q, best first. Above parallelBelow slots the scan
// is split into one contiguous range per core, each keeping its own top k,
// merged at the end: the same answer as one scan, since ties are broken by
// slot.
func exactSearch(vecs []float32, dim int, dead []bool, q []float32, k int) []scored {
	n := len(dead)
	if k <= 0 || n == 0 {
		return nil
	}
	scan := func(lo, hi int, t *topK) {
		for s := lo; s < hi; s++ {
			if dead[s] {
				continue
			}
			t.push(scored{int32(s), dot(q, vecs[s*dim:(s+1)*dim])})
		}
	}
	workers := runtime.GOMAXPROCS(0)
	if n < parallelBelow || workers == 1 {
		t := &topK{k: k}
		scan(0, n, t)
		return t.sorted()
	}
	parts := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range parts {
		parts[w].k = k
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			scan(lo, hi, &parts[w])
		}()
	}
	wg.Wait()
	all := &topK{k: k}
	for w := range parts {
		for _, s := range parts[w].h {
			all.push(s)
		}
	}
	return all.sorted()
}
