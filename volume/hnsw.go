package volume

import (
	"math"
	"slices"
	"sync"
)

// graph is the HNSW index (Malkov & Yashunin, "Efficient and robust
// approximate nearest neighbor search using Hierarchical Navigable Small
// World graphs", 2016/2018). Its nodes are the Volume's slots; it reads
// vectors and tombstones from the Volume through pointers, so it holds
// only links. Layer 0 links live in one flat array (2M per node) for
// locality; the few nodes on upper layers keep a list per layer.
//
// Deletes are tombstones: a dead node stays in the graph and is walked
// through, but never returned; the Volume compacts and rebuilds when
// tombstones pass a quarter of the nodes (mark-and-rebuild).
type graph struct {
	m, m0, efC int
	seed       int64
	mL         float64

	vecs *[]float32
	dead *[]bool
	dim  int

	levels   []uint8
	l0       []int32 // node s's layer-0 links: l0[s*m0 : s*m0+l0n[s]]
	l0n      []uint8
	upper    [][][]int32 // upper[s][l-1]: node s's links on layer l ≥ 1
	entry    int32       // -1: empty
	maxLevel int

	// 8-bit copies of the node vectors for the query walk (quant.go),
	// derived from the vectors when nodes are inserted or the graph is
	// loaded; only when dim is a multiple of 16 (the kernel's blocks).
	quant bool
	q8    []int8    // node s: q8[s*dim : (s+1)*dim]
	q8s   []float32 // node s's scale

	scratches sync.Pool // *scratch
}

// maxLevel caps a node's layer: with M ≥ 2 a level above 31 has
// probability below 2^-31.
const topLevel = 31

func newGraph(m, efC int, seed int64) *graph {
	return &graph{m: m, m0: 2 * m, efC: efC, seed: seed, mL: 1 / math.Log(float64(m)), entry: -1}
}

func (g *graph) attach(vecs *[]float32, dead *[]bool, dim int) {
	g.vecs, g.dead, g.dim = vecs, dead, dim
	g.quant = dim > 0 && dim%16 == 0
	g.q8, g.q8s = nil, nil
	if g.quant {
		g.q8 = make([]int8, len(g.levels)*dim)
		g.q8s = make([]float32, len(g.levels))
		for s := range g.levels {
			g.q8s[s] = quantise(g.vec(int32(s)), g.q8[s*dim:(s+1)*dim])
		}
	}
}

// quantiseNode makes node s's 8-bit copy (nodes arrive in slot order).
func (g *graph) quantiseNode(s int32) {
	if !g.quant {
		return
	}
	for int(s) >= len(g.q8s) {
		g.q8s = append(g.q8s, 0)
		g.q8 = append(g.q8, make([]int8, g.dim)...)
	}
	g.q8s[s] = quantise(g.vec(s), g.q8[int(s)*g.dim:(int(s)+1)*g.dim])
}

func (g *graph) vec(s int32) []float32 {
	return (*g.vecs)[int(s)*g.dim : (int(s)+1)*g.dim]
}

// levelFor draws a node's top layer from the seed and the item's ID (not
// from a shared random stream), so a rebuild after deletes gives every
// surviving item the layer it had: floor(-ln(U)·mL), U uniform in (0,1].
func (g *graph) levelFor(id uint64) int {
	x := uint64(g.seed) ^ (id * 0x9e3779b97f4a7c15)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	u := (float64(x>>11) + 1) / (1 << 53)
	l := int(-math.Log(u) * g.mL)
	return min(l, topLevel)
}

func (g *graph) links(s int32, level int) []int32 {
	if level == 0 {
		b := int(s) * g.m0
		return g.l0[b : b+int(g.l0n[s])]
	}
	return g.upper[s][level-1]
}

func (g *graph) setLinks(s int32, level int, to []int32) {
	if level == 0 {
		b := int(s) * g.m0
		copy(g.l0[b:b+g.m0], to)
		g.l0n[s] = uint8(len(to))
		return
	}
	g.upper[s][level-1] = append(g.upper[s][level-1][:0], to...)
}

func (g *graph) maxLinks(level int) int {
	if level == 0 {
		return g.m0
	}
	return g.m
}

// addNode makes room for slot s at its level.
func (g *graph) addNode(s int32, level int) {
	for int(s) >= len(g.levels) {
		g.levels = append(g.levels, 0)
		g.l0n = append(g.l0n, 0)
		g.upper = append(g.upper, nil)
		g.l0 = append(g.l0, make([]int32, g.m0)...)
	}
	g.levels[s] = uint8(level)
	if level > 0 {
		g.upper[s] = make([][]int32, level)
		for l := range g.upper[s] {
			g.upper[s][l] = make([]int32, 0, g.m)
		}
	}
}

// insert adds slot s (holding item id) — Algorithm 1.
func (g *graph) insert(s int32, id uint64) {
	level := g.levelFor(id)
	g.addNode(s, level)
	g.quantiseNode(s)
	if g.entry < 0 {
		g.entry, g.maxLevel = s, level
		return
	}
	q := g.vec(s)
	ep := scored{g.entry, dot(q, g.vec(g.entry))}
	for l := g.maxLevel; l > level; l-- {
		ep = g.greedy(q, ep, l)
	}
	sc := g.scratch()
	defer g.scratches.Put(sc)
	sc.eps = append(sc.eps[:0], ep)
	for l := min(level, g.maxLevel); l >= 0; l-- {
		w := g.searchLayer(q, sc.eps, g.efC, l, false, sc)
		nb := g.selectNeighbours(w, g.m, sc.sel[:0], sc)
		sc.sel = nb
		g.setLinks(s, l, nb)
		for _, e := range nb {
			g.link(e, s, l, sc)
		}
		sc.eps = append(sc.eps[:0], w...)
	}
	if level > g.maxLevel {
		g.entry, g.maxLevel = s, level
	}
}

// link adds the reverse edge e→s on layer l, shrinking e's list with the
// same heuristic when it overflows.
func (g *graph) link(e, s int32, l int, sc *scratch) {
	cur := g.links(e, l)
	if len(cur) < g.maxLinks(l) {
		if l == 0 {
			g.l0[int(e)*g.m0+len(cur)] = s
			g.l0n[e]++
		} else {
			g.upper[e][l-1] = append(g.upper[e][l-1], s)
		}
		return
	}
	ev := g.vec(e)
	cands := sc.cands[:0]
	for _, c := range cur {
		cands = append(cands, scored{c, dot(ev, g.vec(c))})
	}
	cands = append(cands, scored{s, dot(ev, g.vec(s))})
	sortScored(cands)
	sc.cands = cands
	sc.lsel = g.selectNeighbours(cands, g.maxLinks(l), sc.lsel[:0], sc)
	g.setLinks(e, l, sc.lsel)
}

// selectNeighbours is the paper's heuristic (Algorithm 4, without
// extendCandidates, with keepPrunedConnections): walking the candidates
// from the closest, keep one only if it is closer to the base than to
// every neighbour kept so far — so links spread in different directions
// instead of crowding one cluster — then top up with the pruned ones, in
// order, up to m. cands is sorted best first; sim is to the base. The
// result is appended to out (scratch the caller owns).
func (g *graph) selectNeighbours(cands []scored, m int, out []int32, sc *scratch) []int32 {
	pruned := sc.pruned[:0]
	defer func() { sc.pruned = pruned }()
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		cv := g.vec(c.slot)
		keep := true
		for _, r := range out {
			if dot(cv, g.vec(r)) > c.sim {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c.slot)
		} else {
			pruned = append(pruned, c.slot)
		}
	}
	for _, p := range pruned {
		if len(out) >= m {
			break
		}
		out = append(out, p)
	}
	return out
}

// greedy walks layer l from ep to the closest node it can reach (a search
// with ef = 1).
func (g *graph) greedy(q []float32, ep scored, l int) scored {
	for changed := true; changed; {
		changed = false
		for _, c := range g.links(ep.slot, l) {
			if sim := dot(q, g.vec(c)); sim > ep.sim {
				ep, changed = scored{c, sim}, true
			}
		}
	}
	return ep
}

// scratch is one search's working memory, pooled so a query allocates
// nothing in the graph: the visited marks (a generation number per node,
// so clearing them between searches costs nothing), the two heaps and
// the insert's buffers.
type scratch struct {
	gen    uint32
	marks  []uint32
	cand   candHeap
	res    topK
	eps    []scored
	cands  []scored
	sel    []int32
	lsel   []int32
	pruned []int32
	ids    []int32   // a node's unvisited links
	sims   []float32 // their similarities
	q8     []int8    // the query's 8-bit copy
	q16    []int16   // the same, widened for the kernel
	rank   []int32   // the walk's results, to re-score exactly
	exact  []float32 // their exact similarities
}

func (g *graph) scratch() *scratch {
	sc, _ := g.scratches.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if n := len(g.levels); len(sc.marks) < n {
		sc.marks = make([]uint32, n+n/4)
		sc.gen = 0
	}
	if len(sc.sims) < g.m0 {
		sc.sims = make([]float32, g.m0)
		sc.ids = make([]int32, 0, g.m0)
	}
	if g.quant && len(sc.q16) < g.dim {
		sc.q8 = make([]int8, g.dim)
		sc.q16 = make([]int16, g.dim)
	}
	sc.gen++
	if sc.gen == 0 { // wrapped: start clean
		clear(sc.marks)
		sc.gen = 1
	}
	return sc
}

// searchLayer is Algorithm 2: a best-first walk of layer l from eps that
// keeps the ef closest nodes found, returned best first. With liveOnly,
// tombstoned nodes are walked through but not kept. The result lives in
// sc (valid until its next search).
func (g *graph) searchLayer(q []float32, eps []scored, ef, l int, liveOnly bool, sc *scratch) []scored {
	dead := *g.dead
	vecs := *g.vecs
	dim := g.dim
	marks, gen := sc.marks, sc.gen
	fast := dim&15 == 0 // whole blocks of 16: dot is dot16
	cand := sc.cand[:0]
	res := &sc.res
	res.k, res.h = ef, res.h[:0]
	for _, e := range eps {
		marks[e.slot] = gen
		cand.push(e)
		if !liveOnly || !dead[e.slot] {
			res.push(e)
		}
	}
	for len(cand) > 0 {
		c := cand.pop()
		if len(res.h) >= ef && c.sim < res.h[0].sim {
			break
		}
		var links []int32
		if l == 0 {
			b := int(c.slot) * g.m0
			links = g.l0[b : b+int(g.l0n[c.slot])]
		} else {
			links = g.upper[c.slot][l-1]
		}
		if fast {
			// Gather the unvisited neighbours and score them in one
			// batch (their rows prefetched together), then treat them
			// in link order, as the loop below does one by one.
			ids := sc.ids[:0]
			for _, n := range links {
				if marks[n] != gen {
					marks[n] = gen
					ids = append(ids, n)
				}
			}
			sims := sc.sims[:len(ids)]
			dots(q, vecs, ids, sims)
			for i, n := range ids {
				sim := sims[i]
				if len(res.h) < ef || sim > res.h[0].sim {
					cand.push(scored{n, sim})
					if !liveOnly || !dead[n] {
						res.push(scored{n, sim})
					}
				}
			}
			sc.ids = ids
			continue
		}
		for _, n := range links {
			if marks[n] == gen {
				continue
			}
			marks[n] = gen
			o := int(n) * dim
			sim := dot(q, vecs[o:o+dim])
			if len(res.h) < ef || sim > res.h[0].sim {
				cand.push(scored{n, sim})
				if !liveOnly || !dead[n] {
					res.push(scored{n, sim})
				}
			}
		}
	}
	sc.cand = cand
	slices.SortFunc(res.h, cmpScored)
	return res.h
}

// search returns the k live nodes closest to q, searching layer 0 with ef
// candidates (Algorithm 5).
func (g *graph) search(q []float32, k, ef int) []scored {
	if g.entry < 0 {
		return nil
	}
	sc := g.scratch()
	defer g.scratches.Put(sc)
	ep := scored{g.entry, dot(q, g.vec(g.entry))}
	for l := g.maxLevel; l > 0; l-- {
		ep = g.greedy(q, ep, l)
	}
	if g.quant {
		return g.search8(q, ep.slot, k, ef, sc)
	}
	sc.eps = append(sc.eps[:0], ep)
	w := g.searchLayer(q, sc.eps, ef, 0, true, sc)
	if len(w) > k {
		w = w[:k]
	}
	return append([]scored(nil), w...)
}

// rerankN is how many of the walk's best (by the 8-bit similarity) are
// scored again exactly. The 8-bit error is far below the gap between a
// true top-k item and the ef-th: at 100k × 64-d random data, re-scoring
// the best ef/8 found the same top 10 as re-scoring all ef (the same
// recall@10 at efSearch 200, 240, 300); a quarter keeps a margin.
const rerankDiv = 4

func rerankN(k, ef int) int { return max(4*k, ef/rerankDiv) }

// search8 is the layer-0 search on the 8-bit copies: the walk of
// searchLayer with approximate similarities (the node's integer dot
// product times its scale; the query's scale is common to all and
// dropped), keeping the ef best live nodes; the best rerankN of those
// are scored with the exact dot and the k best of them returned. The approximation can
// only change which nodes are found, never a returned score.
func (g *graph) search8(q []float32, ep int32, k, ef int, sc *scratch) []scored {
	dim := g.dim
	q16 := sc.q16[:dim]
	quantiseQuery(q, sc.q8[:dim], q16)
	dead := *g.dead
	q8, q8s := g.q8, g.q8s
	cand := sc.cand[:0]
	res := &sc.res
	res.k, res.h = ef, res.h[:0]

	marks, gen := sc.marks, sc.gen
	one := append(sc.ids[:0], ep)
	dots8(q16, q8, q8s, one, sc.sims)
	e := scored{ep, sc.sims[0]}
	marks[ep] = gen
	cand.push(e)
	if !dead[ep] {
		res.push(e)
	}
	for len(cand) > 0 {
		c := cand.pop()
		if len(res.h) >= ef && c.sim < res.h[0].sim {
			break
		}
		b := int(c.slot) * g.m0
		ids := sc.ids[:0]
		for _, n := range g.l0[b : b+int(g.l0n[c.slot])] {
			if marks[n] != gen {
				marks[n] = gen
				ids = append(ids, n)
			}
		}
		sims := sc.sims[:len(ids)]
		dots8(q16, q8, q8s, ids, sims)
		for i, n := range ids {
			sim := sims[i]
			if len(res.h) < ef || sim > res.h[0].sim {
				cand.push(scored{n, sim})
				if !dead[n] {
					res.push(scored{n, sim})
				}
			}
		}
		sc.ids = ids
		// The next node to expand is most likely the best candidate
		// now: start loading its links while the heap is reordered.
		if len(cand) > 0 {
			prefetchLinks(&g.l0[int(cand[0].slot)*g.m0])
		}
	}
	sc.cand = cand

	// Re-rank exactly.
	rank := sc.rank[:0]
	h := res.h
	if rr := rerankN(k, ef); len(h) > rr {
		slices.SortFunc(h, cmpScored)
		h = h[:rr]
	}
	for _, r := range h {
		rank = append(rank, r.slot)
	}
	if cap(sc.exact) < len(rank) {
		sc.exact = make([]float32, len(rank))
	}
	exact := sc.exact[:len(rank)]
	dots(q, *g.vecs, rank, exact)
	sc.rank = rank
	top := topK{k: k, h: make([]scored, 0, k)}
	for i, s := range rank {
		top.push(scored{s, exact[i]})
	}
	slices.SortFunc(top.h, cmpScored)
	return top.h
}

func (g *graph) edges() int {
	n := 0
	for s := range g.levels {
		n += int(g.l0n[s])
		for _, u := range g.upper[s] {
			n += len(u)
		}
	}
	return n
}

func (g *graph) bytes() int64 {
	b := int64(len(g.l0))*4 + int64(len(g.levels))*(1+1+24)
	b += int64(len(g.q8)) + int64(len(g.q8s))*4 // the 8-bit copies
	for _, u := range g.upper {
		for _, l := range u {
			b += 24 + int64(cap(l))*4
		}
	}
	return b
}

// candHeap is a max-heap on similarity: the closest candidate on top.
type candHeap []scored

func (h *candHeap) push(s scored) {
	*h = append(*h, s)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !better(a[i], a[p]) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *candHeap) pop() scored {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		w, l, r := i, 2*i+1, 2*i+2
		if l < n && better(a[l], a[w]) {
			w = l
		}
		if r < n && better(a[r], a[w]) {
			w = r
		}
		if w == i {
			break
		}
		a[w], a[i] = a[i], a[w]
		i = w
	}
	*h = a
	return top
}

// cmpScored orders like better, for slices.SortFunc.
func cmpScored(a, b scored) int {
	if better(a, b) {
		return -1
	}
	if better(b, a) {
		return 1
	}
	return 0
}

func sortScored(s []scored) {
	// Insertion sort: lists here are at most 2M+1 long.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && better(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
