package volume

import (
	"runtime"
	"sort"
	"sync"
)

// dot is the inner product; on unit vectors it is the cosine similarity.
// It is the hot loop of both the exact scan and the graph. The first
// len(a)&^15 elements are summed in 16 lanes (dot16: SSE on amd64, plain
// Go elsewhere, bit-identical by construction), the rest one by one: the
// same bits on every machine, so a seeded build gives the same graph.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = dot16(a[:n], b[:n])
	}
	for i := n; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}

// dot16Go is dot16's definition (and its implementation off amd64): lane
// j sums a[i+j]·b[i+j] over the blocks of 16 in order, then the lanes are
// folded as the SSE code does — (l0+l4)+(l8+l12) into four, then
// (t0+t2)+(t1+t3). The float32 conversions forbid fused multiply-adds
// (which the compiler emits on arm64), which would round differently.
// len(a) is a multiple of 16 and len(b) ≥ len(a).
func dot16Go(a, b []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15 float32
	for i := 0; i+16 <= len(a); i += 16 {
		x, y := a[i:i+16:i+16], b[i:i+16:i+16]
		s0 += float32(x[0] * y[0])
		s1 += float32(x[1] * y[1])
		s2 += float32(x[2] * y[2])
		s3 += float32(x[3] * y[3])
		s4 += float32(x[4] * y[4])
		s5 += float32(x[5] * y[5])
		s6 += float32(x[6] * y[6])
		s7 += float32(x[7] * y[7])
		s8 += float32(x[8] * y[8])
		s9 += float32(x[9] * y[9])
		s10 += float32(x[10] * y[10])
		s11 += float32(x[11] * y[11])
		s12 += float32(x[12] * y[12])
		s13 += float32(x[13] * y[13])
		s14 += float32(x[14] * y[14])
		s15 += float32(x[15] * y[15])
	}
	t0 := (s0 + s4) + (s8 + s12)
	t1 := (s1 + s5) + (s9 + s13)
	t2 := (s2 + s6) + (s10 + s14)
	t3 := (s3 + s7) + (s11 + s15)
	return (t0 + t2) + (t1 + t3)
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

// dotsGo is dots' definition: one dot16 per listed row.
func dotsGo(q, vecs []float32, idx []int32, out []float32) {
	d := len(q)
	for i, s := range idx {
		o := int(s) * d
		out[i] = dot16(q, vecs[o:o+d])
	}
}
