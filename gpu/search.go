package gpu

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Exact vector search on a backend: the search kernel (shaders/search.comp)
// and its twin score every vector against each query by dot product (the
// cosine, on unit vectors) and keep each query's top k. Only the top k
// comes back to the CPU, never the scores.

// MaxSearchK is the most results a search may ask for per query.
const MaxSearchK = 64

// SearchTile is how many candidates the kernel takes in at a time; a block
// of vectors is a whole number of tiles.
const SearchTile = 448

// SearchParams is the params buffer of the search kernel (std430).
type SearchParams struct {
	// Pass 0 scores blocks of vectors into per-block top-k lists; pass 1
	// merges each query's lists into its answer.
	Pass uint32
	// Count vectors of Dim floats; Queries queries of Dim floats.
	Count, Dim, Queries uint32
	// K results per query (1..MaxSearchK).
	K uint32
	// Block vectors per block (a multiple of SearchTile), Blocks per query.
	Block, Blocks uint32
	Pad           uint32
}

// Match is one search result: a vector's index and its score. An empty
// slot of a list (fewer live vectors than k) is NoMatch with score -Inf.
type Match struct {
	Index uint32
	Score float32
}

// NoMatch is the index of an empty slot in the kernel's lists.
const NoMatch = ^uint32(0)

var emptyMatch = Match{Index: NoMatch, Score: float32(math.Inf(-1))}

// beats is the search's strict total order: the higher score, then the
// lower index. The top k of a set is then a single list, whichever way it
// is found, which is why the twin may use insertion where the kernel
// sorts.
func beats(a, b Match) bool {
	return a.Score > b.Score || a.Score == b.Score && a.Index < b.Index
}

// Dot is the search's score: the dot product summed exactly as package
// volume's dot (16 lanes over the first len(a)&^15 elements, folded
// (l0+l4)+(l8+l12) then (t0+t2)+(t1+t3), then the rest one by one), with
// every product rounded on its own, as the kernel's `precise` does.
func Dot(a, b []float32) float32 {
	b = b[:len(a)]
	n := len(a) &^ 15
	var l [16]float32
	for i := 0; i < n; i += 16 {
		x, y := a[i:i+16:i+16], b[i:i+16:i+16]
		for j := range 16 {
			l[j] += mul(x[j], y[j])
		}
	}
	var s float32
	if n > 0 {
		t0 := (l[0] + l[4]) + (l[8] + l[12])
		t1 := (l[1] + l[5]) + (l[9] + l[13])
		t2 := (l[2] + l[6]) + (l[10] + l[14])
		t3 := (l[3] + l[7]) + (l[11] + l[15])
		s = (t0 + t2) + (t1 + t3)
	}
	for i := n; i < len(a); i++ {
		s += mul(a[i], b[i])
	}
	return s
}

// topList keeps the k best matches seen, best first, in a fixed array (no
// allocation per item).
type topList struct {
	k int
	m [MaxSearchK]Match
}

func newTopList(k int) topList {
	t := topList{k: k}
	for i := range t.m[:k] {
		t.m[i] = emptyMatch
	}
	return t
}

func (t *topList) push(c Match) {
	if !beats(c, t.m[t.k-1]) {
		return
	}
	i := t.k - 1
	for i > 0 && beats(c, t.m[i-1]) {
		t.m[i] = t.m[i-1]
		i--
	}
	t.m[i] = c
}

// SearchRange is the twin of search.comp over its work items [lo, hi):
// (query, block) pairs in pass 0, queries in pass 1. Each item writes its
// own k entries (partial or result), so disjoint ranges run at once.
func SearchRange(p *SearchParams, vecs []float32, dead []uint32, queries []float32, partial, result []Match, lo, hi int) {
	k, dim := int(min(p.K, MaxSearchK)), int(p.Dim)
	blocks := int(p.Blocks)
	for item := lo; item < hi; item++ {
		t := newTopList(k)
		if p.Pass == 0 {
			q := item / blocks
			first := (item % blocks) * int(p.Block)
			last := min(int(p.Count), first+int(p.Block))
			query := queries[q*dim : (q+1)*dim]
			for v := first; v < last; v++ {
				if dead[v>>5]&(1<<(v&31)) != 0 {
					continue
				}
				t.push(Match{Index: uint32(v), Score: Dot(query, vecs[v*dim:(v+1)*dim])})
			}
			copy(partial[item*k:(item+1)*k], t.m[:k])
			continue
		}
		for _, c := range partial[item*blocks*k : (item+1)*blocks*k] {
			t.push(c)
		}
		copy(result[item*k:(item+1)*k], t.m[:k])
	}
}

// searchKernel is the kernel table's entry for search.comp.
var searchKernel = kernel{
	name: "search", bindings: 6,
	size: func(b [][]byte) (int, int) {
		p := &view[SearchParams](b[0])[0]
		if p.Pass == 0 {
			// About half a nanosecond per multiply-add, plus the top-k
			// test per vector.
			return int(p.Queries) * int(p.Blocks), 1 + int(p.Block)*(2+int(p.Dim)/2)
		}
		return int(p.Queries), 1 + 2*int(p.Blocks)*int(p.K)
	},
	run: func(b [][]byte, _, lo, hi int) int {
		p := &view[SearchParams](b[0])[0]
		SearchRange(p, view[float32](b[1]), view[uint32](b[2]), view[float32](b[3]), view[Match](b[4]), view[Match](b[5]), lo, hi)
		return 0
	},
}

// Searcher is an exact search over a set of vectors kept on a backend. The
// vectors are uploaded once and stay there (an upload buffer: device-local
// where the device has host-visible device memory); Load, Append, Replace
// and Remove upload only what changed. A search uploads its queries and
// reads back only each query's top k, never the scores.
//
// Scores are dot products: give unit vectors (L2-normalised) for cosine
// similarity. A Searcher is not safe for concurrent use, and it waits for
// the backend's last submit before it writes its buffers, so share a
// backend only with code on the same goroutine.
type Searcher struct {
	b   Backend
	dim int

	host []float32 // the vectors on the device, n*dim of them
	dead []uint32  // a bit per vector
	n    int

	vecs, deadBuf   Buffer // upload, sized for capacity vectors
	capacity        int
	params          [2]Buffer // upload: pass 0, pass 1
	queries         Buffer    // upload
	partial, result Buffer    // device
	readback        Buffer    // readback: the top k of every query
	progs           []Program
	recorded        searchPrograms
	out             []Match
	closed          bool
}

// searchPrograms is what a search's recorded programs depend on (params
// are read when they run).
type searchPrograms struct {
	groups0, groups1 uint32
	copyBytes        int
	single           bool // one block per query: pass 0's lists are the answer
}

// searchItems is about how many (query, block) work items a search aims
// for: enough to fill a big GPU, few enough that merging the blocks' lists
// stays small next to scoring them.
const searchItems = 8192

// NewSearcher returns an empty searcher of dim-dimensional vectors on b.
func NewSearcher(b Backend, dim int) (*Searcher, error) {
	if b == nil {
		return nil, errors.New("gpu: NewSearcher: nil backend")
	}
	if dim <= 0 {
		return nil, fmt.Errorf("gpu: NewSearcher: dim %d (want > 0)", dim)
	}
	s := &Searcher{b: b, dim: dim}
	for i := range s.params {
		buf, err := b.NewBuffer(int(unsafe.Sizeof(SearchParams{})), RoleUpload)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.params[i] = buf
	}
	return s, nil
}

// Dim is the vectors' dimension.
func (s *Searcher) Dim() int { return s.dim }

// Len is how many vectors are loaded (removed ones included: indices stay).
func (s *Searcher) Len() int { return s.n }

// checkVectors validates a slice of whole, finite vectors.
func (s *Searcher) checkVectors(what, field string, v []float32) error {
	if len(v)%s.dim != 0 {
		return fmt.Errorf("gpu: Searcher.%s: %s has %d floats, not a whole number of %d-dimensional vectors", what, field, len(v), s.dim)
	}
	for i, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("gpu: Searcher.%s: %s[%d] (vector %d, element %d) is %v, want a finite value", what, field, i, i/s.dim, i%s.dim, f)
		}
	}
	return nil
}

// Load makes vectors (a multiple of Dim floats; vector i at index i) the
// whole set and revives every vector. Only the vectors whose bits differ
// from what the device holds are uploaded, in coalesced runs; a set that
// outgrows the device buffer is uploaded whole into a bigger one.
func (s *Searcher) Load(vectors []float32) error {
	if err := s.usable("Load"); err != nil {
		return err
	}
	if err := s.checkVectors("Load", "vectors", vectors); err != nil {
		return err
	}
	n := len(vectors) / s.dim
	grown, err := s.reserve(n)
	if err != nil {
		return err
	}
	anyDead := false
	for _, w := range s.dead {
		anyDead = anyDead || w != 0
	}
	clear(s.dead)
	old := s.n
	if grown {
		old = 0 // the new buffer holds nothing
	}
	run := -1 // first vector of the current run of changed ones
	for v := 0; v <= n; v++ {
		changed := v < n && (v >= old || !sameBits(s.host[v*s.dim:(v+1)*s.dim], vectors[v*s.dim:(v+1)*s.dim]))
		switch {
		case changed && run < 0:
			run = v
		case !changed && run >= 0:
			if err := s.b.Write(s.vecs, run*s.dim*4, Bytes(vectors[run*s.dim:v*s.dim])); err != nil {
				return err
			}
			run = -1
		}
	}
	s.host = append(s.host[:0], vectors...)
	s.n = n
	if anyDead || grown {
		return s.uploadDead(0, n)
	}
	return nil
}

func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// Append adds vectors (a multiple of Dim floats) after the loaded ones
// and returns the index of the first; only they are uploaded (everything,
// when the device buffer has to grow).
func (s *Searcher) Append(vectors []float32) (int, error) {
	if err := s.usable("Append"); err != nil {
		return 0, err
	}
	if err := s.checkVectors("Append", "vectors", vectors); err != nil {
		return 0, err
	}
	first := s.n
	n := first + len(vectors)/s.dim
	grown, err := s.reserve(n)
	if err != nil {
		return 0, err
	}
	s.host = append(s.host, vectors...)
	s.n = n
	if grown {
		return first, s.upload(0, n)
	}
	return first, s.upload(first, n)
}

// Replace overwrites the vectors from index first on with vectors (which
// must lie within Len) and revives them; only they are uploaded.
func (s *Searcher) Replace(first int, vectors []float32) error {
	if err := s.usable("Replace"); err != nil {
		return err
	}
	if err := s.checkVectors("Replace", "vectors", vectors); err != nil {
		return err
	}
	m := len(vectors) / s.dim
	if first < 0 || first+m > s.n {
		return fmt.Errorf("gpu: Searcher.Replace: first %d: vectors [%d, %d) outside the %d loaded", first, first, first+m, s.n)
	}
	copy(s.host[first*s.dim:], vectors)
	for v := first; v < first+m; v++ {
		s.dead[v>>5] &^= 1 << (v & 31)
	}
	return s.upload(first, first+m)
}

// Remove leaves vector i out of every answer from now on (Replace or Load
// brings it back); its index is not reused.
func (s *Searcher) Remove(i int) error {
	if err := s.usable("Remove"); err != nil {
		return err
	}
	if i < 0 || i >= s.n {
		return fmt.Errorf("gpu: Searcher.Remove: index %d outside the %d loaded", i, s.n)
	}
	s.dead[i>>5] |= 1 << (i & 31)
	return s.uploadDead(i, i+1)
}

func (s *Searcher) usable(what string) error {
	if s.closed {
		return fmt.Errorf("gpu: Searcher.%s after Close", what)
	}
	// The buffers are about to be written: nothing may still read them.
	return s.b.Wait()
}

// reserve makes the device buffers hold n vectors, with an eighth more
// room for appends, doubling when they grow; it reports
// whether they were replaced (and so hold nothing yet). It changes nothing
// else, so a failed reserve leaves the searcher as it was.
func (s *Searcher) reserve(n int) (bool, error) {
	if n <= s.capacity && s.vecs.Valid() {
		if words := (n + 31) / 32; len(s.dead) < words {
			s.dead = append(s.dead, make([]uint32, words-len(s.dead))...)
		}
		return false, nil
	}
	c := max(n+n/8, 2*s.capacity, 1024)
	vecs, err := s.b.NewBuffer(c*s.dim*4, RoleUpload)
	if err != nil {
		return false, fmt.Errorf("gpu: Searcher: room for %d vectors of %d floats: %w", c, s.dim, err)
	}
	dead, err := s.b.NewBuffer((c+31)/32*4, RoleUpload)
	if err != nil {
		s.b.Free(vecs)
		return false, err
	}
	if s.vecs.Valid() {
		s.b.Free(s.vecs)
		s.b.Free(s.deadBuf)
	}
	s.vecs, s.deadBuf, s.capacity = vecs, dead, c
	if words := (n + 31) / 32; len(s.dead) < words {
		s.dead = append(s.dead, make([]uint32, words-len(s.dead))...)
	}
	s.dropPrograms()
	return true, nil
}

// upload writes vectors [lo, hi) and their dead bits from the host copy.
func (s *Searcher) upload(lo, hi int) error {
	if hi <= lo {
		return nil
	}
	if err := s.b.Write(s.vecs, lo*s.dim*4, Bytes(s.host[lo*s.dim:hi*s.dim])); err != nil {
		return err
	}
	return s.uploadDead(lo, hi)
}

func (s *Searcher) uploadDead(lo, hi int) error {
	if hi <= lo {
		return nil
	}
	w0, w1 := lo/32, (hi+31)/32
	return s.b.Write(s.deadBuf, w0*4, Bytes(s.dead[w0:w1]))
}

// Search returns, for each query (queries holds them one after the other,
// Dim floats each), its k best vectors, best first: the highest dot
// product, equal scores to the lower index. A list is shorter than k when
// fewer vectors are live. k is 1..MaxSearchK.
func (s *Searcher) Search(queries []float32, k int) ([][]Match, error) {
	if err := s.usable("Search"); err != nil {
		return nil, err
	}
	if len(queries) == 0 {
		return nil, errors.New("gpu: Searcher.Search: queries is empty")
	}
	if err := s.checkVectors("Search", "queries", queries); err != nil {
		return nil, err
	}
	if k < 1 || k > MaxSearchK {
		return nil, fmt.Errorf("gpu: Searcher.Search: k %d outside 1..%d", k, MaxSearchK)
	}
	nq := len(queries) / s.dim
	lists := make([][]Match, nq)
	if s.n == 0 {
		return lists, nil
	}
	tiles := (s.n + SearchTile - 1) / SearchTile
	blocks := min(tiles, max(1, (searchItems+nq-1)/nq))
	block := (tiles + blocks - 1) / blocks * SearchTile
	blocks = (s.n + block - 1) / block
	p := SearchParams{Count: uint32(s.n), Dim: uint32(s.dim), Queries: uint32(nq), K: uint32(k), Block: uint32(block), Blocks: uint32(blocks)}
	if err := s.buffers(nq, k, blocks); err != nil {
		return nil, err
	}
	if err := s.record(searchPrograms{
		groups0: uint32(min(nq*blocks, MaxGroups)), groups1: uint32(min(nq, MaxGroups)),
		copyBytes: nq * k * 8, single: blocks == 1,
	}); err != nil {
		return nil, err
	}
	p1 := p
	p1.Pass = 1
	if err := errors.Join(
		s.b.Write(s.params[0], 0, Bytes([]SearchParams{p})),
		s.b.Write(s.params[1], 0, Bytes([]SearchParams{p1})),
		s.b.Write(s.queries, 0, Bytes(queries))); err != nil {
		return nil, err
	}
	for _, prog := range s.progs {
		if err := s.b.Submit(prog); err != nil {
			return nil, err
		}
	}
	if err := s.b.Wait(); err != nil {
		return nil, err
	}
	s.out = append(s.out[:0], make([]Match, nq*k)...)
	if err := s.b.Read(s.readback, 0, Bytes(s.out)); err != nil {
		return nil, err
	}
	for q := range lists {
		l := s.out[q*k : (q+1)*k]
		m := 0
		for m < k && l[m].Index != NoMatch {
			m++
		}
		lists[q] = append([]Match(nil), l[:m]...)
	}
	return lists, nil
}

// buffers makes the per-search buffers big enough, doubling.
func (s *Searcher) buffers(nq, k, blocks int) error {
	grow := func(b *Buffer, size int, role Role) error {
		if b.Valid() && b.Size() >= size {
			return nil
		}
		size = max(size, 2*b.Size(), 64)
		nb, err := s.b.NewBuffer(size, role)
		if err != nil {
			return fmt.Errorf("gpu: Searcher: a %d-byte %s buffer: %w", size, RoleNames[role], err)
		}
		if b.Valid() {
			s.b.Free(*b)
		}
		*b = nb
		s.dropPrograms()
		return nil
	}
	return errors.Join(
		grow(&s.queries, nq*s.dim*4, RoleUpload),
		grow(&s.partial, nq*blocks*k*8, RoleDevice),
		grow(&s.result, nq*k*8, RoleDevice),
		grow(&s.readback, nq*k*8, RoleReadback))
}

// record (re)records the search's programs when their shape changed: pass
// 0 and, with more than one block per query, pass 1 in a second program
// (it reads what pass 0 wrote, and a program's kernel steps run without
// barriers between them).
func (s *Searcher) record(want searchPrograms) error {
	if len(s.progs) > 0 && s.recorded == want {
		return nil
	}
	s.dropPrograms()
	bufs := func(pass int) []Buffer {
		return []Buffer{s.params[pass], s.vecs, s.deadBuf, s.queries, s.partial, s.result}
	}
	var programs [][]Dispatch
	if want.single {
		programs = [][]Dispatch{{
			{Kernel: "search", Buffers: bufs(0), Groups: want.groups0},
			{CopyFrom: s.partial, CopyTo: s.readback, CopyBytes: want.copyBytes},
		}}
	} else {
		programs = [][]Dispatch{
			{{Kernel: "search", Buffers: bufs(0), Groups: want.groups0}},
			{
				{Kernel: "search", Buffers: bufs(1), Groups: want.groups1},
				{CopyFrom: s.result, CopyTo: s.readback, CopyBytes: want.copyBytes},
			},
		}
	}
	for _, steps := range programs {
		p, err := s.b.Record(steps)
		if err != nil {
			s.dropPrograms()
			return err
		}
		s.progs = append(s.progs, p)
	}
	s.recorded = want
	return nil
}

func (s *Searcher) dropPrograms() {
	for _, p := range s.progs {
		s.b.Release(p)
	}
	s.progs = s.progs[:0]
}

// Close frees the searcher's buffers and programs (not the backend).
func (s *Searcher) Close() error {
	if s.closed {
		return nil
	}
	err := s.b.Wait()
	s.dropPrograms()
	for _, b := range []Buffer{s.vecs, s.deadBuf, s.params[0], s.params[1], s.queries, s.partial, s.result, s.readback} {
		if b.Valid() {
			s.b.Free(b)
		}
	}
	s.closed = true
	return err
}
