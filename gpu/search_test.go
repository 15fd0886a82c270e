package gpu_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/rayos/engine/gpu"
)

// refDot is the lane-by-lane definition of the search's score, written
// apart from gpu.Dot: lane j of 16 sums a[i]·b[i] for i ≡ j (mod 16) over
// the whole blocks of 16, lanes fold as (l0+l4)+(l8+l12) … then
// (t0+t2)+(t1+t3), and the remaining elements are added one by one.
func refDot(a, b []float32) float32 {
	n := len(a) / 16 * 16
	lanes := make([]float32, 16)
	for i := 0; i < n; i++ {
		lanes[i%16] += float32(a[i] * b[i])
	}
	var s float32
	if n > 0 {
		var t [4]float32
		for j := range 4 {
			t[j] = (lanes[j] + lanes[j+4]) + (lanes[j+8] + lanes[j+12])
		}
		s = (t[0] + t[2]) + (t[1] + t[3])
	}
	for i := n; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}

// refSearch is the brute force: score every live vector, sort them all by
// (score desc, index asc), keep k.
func refSearch(vecs []float32, dim int, dead map[int]bool, queries []float32, k int) [][]gpu.Match {
	n := len(vecs) / dim
	var out [][]gpu.Match
	for q := 0; q < len(queries)/dim; q++ {
		query := queries[q*dim : (q+1)*dim]
		var all []gpu.Match
		for v := range n {
			if !dead[v] {
				all = append(all, gpu.Match{Index: uint32(v), Score: refDot(query, vecs[v*dim:(v+1)*dim])})
			}
		}
		slices.SortFunc(all, func(a, b gpu.Match) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return int(a.Index) - int(b.Index)
		})
		out = append(out, all[:min(k, len(all))])
	}
	return out
}

// searchVectors makes n random unit vectors of dim floats. With ties, the
// values are coarse (multiples of 1/4, not normalised) and every fifth
// vector repeats an earlier one, so many scores are exactly equal and the
// order among them is decided by the index alone.
func searchVectors(r *rand.Rand, n, dim int, ties bool) []float32 {
	v := make([]float32, n*dim)
	for i := range n {
		row := v[i*dim : (i+1)*dim]
		if ties {
			if i%5 == 4 {
				j := r.IntN(i)
				copy(row, v[j*dim:(j+1)*dim])
				continue
			}
			for d := range row {
				row[d] = float32(r.IntN(5)-2) / 4
			}
			continue
		}
		var norm float64
		for d := range row {
			row[d] = float32(r.NormFloat64())
			norm += float64(row[d]) * float64(row[d])
		}
		for d := range row {
			row[d] = float32(float64(row[d]) / math.Sqrt(norm))
		}
	}
	return v
}

func TestDotIsTheLaneDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for n := 0; n <= 70; n++ {
		a, b := searchVectors(r, 1, max(n, 1), false)[:n], searchVectors(r, 1, max(n, 1), false)[:n]
		if got, want := gpu.Dot(a, b), refDot(a, b); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("n=%d: Dot %v, lane definition %v", n, got, want)
		}
		var f float64
		for i := range a {
			f += float64(a[i]) * float64(b[i])
		}
		if math.Abs(f-float64(gpu.Dot(a, b))) > 1e-5 {
			t.Fatalf("n=%d: Dot %v, float64 sum %v", n, gpu.Dot(a, b), f)
		}
	}
}

func searchBackends(t *testing.T) map[string]gpu.Backend {
	all := backends(t)
	return map[string]gpu.Backend{"cpu": all[0], "cpu-serial": gpu.NewCPUWorkers(1), "vulkan": all[1]}
}

// TestSearchMatchesBruteForce: on every backend, for several sizes,
// dimensions (with and without a tail after the blocks of 16), k and query
// counts (one block per query, and many merged), with and without ties,
// the Searcher's lists are the brute force's, bit for bit.
func TestSearchMatchesBruteForce(t *testing.T) {
	cases := []struct {
		n, dim, k, queries int
		ties               bool
	}{
		{1, 3, 1, 1, false},
		{5, 16, 10, 2, false}, // fewer vectors than k
		{447, 8, 64, 3, true},
		{449, 17, 64, 1, true}, // two tiles
		{3000, 64, 10, 4, false},
		{3000, 5, 7, 40, true},
		{20000, 33, 64, 1, true}, // many blocks merged
		{6000, 32, 3, 300, false},
	}
	for name, b := range searchBackends(t) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, c := range cases {
			vecs := searchVectors(r, c.n, c.dim, c.ties)
			queries := searchVectors(r, c.queries, c.dim, c.ties)
			if c.ties {
				copy(queries, vecs[:c.dim]) // a query equal to vector 0
			}
			s, err := gpu.NewSearcher(b, c.dim)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Load(vecs); err != nil {
				t.Fatal(err)
			}
			got, err := s.Search(queries, c.k)
			if err != nil {
				t.Fatalf("%s %+v: %v", name, c, err)
			}
			want := refSearch(vecs, c.dim, nil, queries, c.k)
			checkLists(t, name, c, got, want)
			s.Close()
		}
	}
}

func checkLists(t *testing.T, name string, c any, got, want [][]gpu.Match) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s %+v: %d lists, want %d", name, c, len(got), len(want))
	}
	for q := range want {
		if !slices.Equal(got[q], want[q]) {
			t.Fatalf("%s %+v: query %d:\n got %v\nwant %v", name, c, q, got[q], want[q])
		}
	}
}

// TestSearchKernelParity runs the kernel's two passes directly, with one
// and with three workgroups (so that the grid-stride loop takes several
// items per workgroup), and compares every entry of both passes' outputs —
// padding included — between the twin and Vulkan.
func TestSearchKernelParity(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, dim, k, nq, block = 2000, 20, 9, 3, 2 * gpu.SearchTile
	blocks := (n + block - 1) / block
	vecs := searchVectors(r, n, dim, true)
	queries := searchVectors(r, nq, dim, true)
	dead := make([]uint32, (n+31)/32)
	dead[0] = 0b1011 // vectors 0, 1, 3
	dead[40] = ^uint32(0)
	p := gpu.SearchParams{Count: n, Dim: dim, Queries: nq, K: k, Block: block, Blocks: uint32(blocks)}
	all := backends(t)
	var partials, results [2][]gpu.Match
	for groups := uint32(1); groups <= 3; groups += 2 {
		for i, b := range all {
			partial := make([]gpu.Match, nq*blocks*k)
			runSlots(t, b, "search", groups,
				slot{data: gpu.Bytes([]gpu.SearchParams{p})}, slot{data: gpu.Bytes(vecs)}, slot{data: gpu.Bytes(dead)},
				slot{data: gpu.Bytes(queries)}, slot{data: gpu.Bytes(partial), role: gpu.RoleDevice, fetch: true},
				slot{data: make([]byte, 8), role: gpu.RoleDevice})
			p1 := p
			p1.Pass = 1
			result := make([]gpu.Match, nq*k)
			runSlots(t, b, "search", groups,
				slot{data: gpu.Bytes([]gpu.SearchParams{p1})}, slot{data: gpu.Bytes(vecs)}, slot{data: gpu.Bytes(dead)},
				slot{data: gpu.Bytes(queries)}, slot{data: gpu.Bytes(partial)},
				slot{data: gpu.Bytes(result), role: gpu.RoleDevice, fetch: true})
			partials[i], results[i] = partial, result
		}
		if !slices.Equal(partials[0], partials[1]) {
			t.Fatalf("groups %d: pass 0 differs:\n twin %v\n vulkan %v", groups, partials[0], partials[1])
		}
		if !slices.Equal(results[0], results[1]) {
			t.Fatalf("groups %d: pass 1 differs:\n twin %v\n vulkan %v", groups, results[0], results[1])
		}
	}
	// The last block holds 2000-1792 = 208 vectors, 32 of them dead: no
	// padding; the answer leaves out every dead vector.
	deadSet := map[int]bool{0: true, 1: true, 3: true}
	for v := 40 * 32; v < 41*32; v++ {
		deadSet[v] = true
	}
	want := refSearch(vecs, dim, deadSet, queries, k)
	for q := range nq {
		if !slices.Equal(results[0][q*k:(q+1)*k], want[q]) {
			t.Fatalf("query %d: %v, want %v", q, results[0][q*k:(q+1)*k], want[q])
		}
	}
}

// TestSearcherUploadsOnlyWhatChanged: a Load that changes one vector
// uploads that vector; Append uploads the new ones; Replace and Remove
// theirs; and every answer after them is the brute force's.
func TestSearcherUploadsOnlyWhatChanged(t *testing.T) {
	const n, dim, k = 3000, 24, 5
	for name, b := range searchBackends(t) {
		r := rand.New(rand.NewPCG(1, 2))
		vecs := searchVectors(r, n, dim, false)
		queries := searchVectors(r, 4, dim, false)
		s, err := gpu.NewSearcher(b, dim)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Load(vecs); err != nil {
			t.Fatal(err)
		}
		dead := map[int]bool{}
		uploads := func(step string, f func() error, want int) {
			t.Helper()
			before := b.Stats().BytesUploaded
			if err := f(); err != nil {
				t.Fatalf("%s %s: %v", name, step, err)
			}
			if got := int(b.Stats().BytesUploaded - before); got != want {
				t.Errorf("%s %s: uploaded %d bytes, want %d", name, step, got, want)
			}
			got, err := s.Search(queries, k)
			if err != nil {
				t.Fatal(err)
			}
			checkLists(t, name, step, got, refSearch(vecs, dim, dead, queries, k))
		}
		uploads("Load unchanged", func() error { return s.Load(vecs) }, 0)
		vecs = slices.Clone(vecs)
		copy(vecs[7*dim:8*dim], queries[:dim]) // vector 7 now equals query 0
		uploads("Load one changed", func() error { return s.Load(vecs) }, dim*4)
		more := searchVectors(r, 10, dim, false)
		vecs = append(vecs, more...)
		uploads("Append", func() error {
			first, err := s.Append(more)
			if first != n {
				t.Errorf("Append: first index %d, want %d", first, n)
			}
			return err
		}, 10*dim*4+8) // the vectors and the two words of dead bits they span (93, 94)
		dead[7] = true
		uploads("Remove", func() error { return s.Remove(7) }, 4)
		copy(vecs[100*dim:101*dim], queries[dim:2*dim])
		uploads("Replace", func() error { return s.Replace(100, vecs[100*dim:101*dim]) }, dim*4+4)
		if s.Len() != n+10 {
			t.Errorf("Len %d, want %d", s.Len(), n+10)
		}
		// Growing past the buffer re-uploads everything, and stays right.
		big := searchVectors(r, 5000, dim, false)
		vecs = append(vecs, big...)
		if _, err := s.Append(big); err != nil {
			t.Fatal(err)
		}
		got, err := s.Search(queries, k)
		if err != nil {
			t.Fatal(err)
		}
		checkLists(t, name, "grown", got, refSearch(vecs, dim, dead, queries, k))
		s.Close()
	}
}

// TestSearcherRefusesBadInput: each mistake gets an error naming what is
// wrong, and leaves the searcher as it was.
func TestSearcherRefusesBadInput(t *testing.T) {
	b := gpu.NewCPU()
	if _, err := gpu.NewSearcher(b, 0); err == nil || !strings.Contains(err.Error(), "dim 0") {
		t.Errorf("dim 0: %v", err)
	}
	if _, err := gpu.NewSearcher(nil, 4); err == nil {
		t.Error("nil backend accepted")
	}
	s, err := gpu.NewSearcher(b, 4)
	if err != nil {
		t.Fatal(err)
	}
	// An empty set answers every query with an empty list.
	got, err := s.Search([]float32{1, 0, 0, 0, 0, 1, 0, 0}, 3)
	if err != nil || len(got) != 2 || len(got[0]) != 0 || len(got[1]) != 0 {
		t.Errorf("search of an empty set: %v, %v", got, err)
	}
	vecs := []float32{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}
	if err := s.Load(vecs); err != nil {
		t.Fatal(err)
	}
	q := []float32{1, 1, 0, 0}
	before, err := s.Search(q, 3)
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	for _, c := range []struct {
		what string
		f    func() error
		want string
	}{
		{"Load of 5 floats", func() error { return s.Load(vecs[:5]) }, "5 floats"},
		{"Load with NaN", func() error { return s.Load([]float32{1, 0, 0, 0, 0, nan, 0, 0}) }, "vectors[5] (vector 1, element 1)"},
		{"Load with Inf", func() error { return s.Load([]float32{float32(math.Inf(1)), 0, 0, 0}) }, "vectors[0]"},
		{"Append of 3 floats", func() error { _, err := s.Append([]float32{1, 2, 3}); return err }, "3 floats"},
		{"Replace past the end", func() error { return s.Replace(2, vecs[:8]) }, "first 2"},
		{"Replace at -1", func() error { return s.Replace(-1, vecs[:4]) }, "first -1"},
		{"Remove 3", func() error { return s.Remove(3) }, "index 3"},
		{"Remove -1", func() error { return s.Remove(-1) }, "index -1"},
		{"Search with no queries", func() error { _, err := s.Search(nil, 3); return err }, "queries is empty"},
		{"Search of 6 floats", func() error { _, err := s.Search(make([]float32, 6), 3); return err }, "queries has 6 floats"},
		{"Search with NaN", func() error { _, err := s.Search([]float32{0, 0, nan, 0}, 3); return err }, "queries[2]"},
		{"k 0", func() error { _, err := s.Search(q, 0); return err }, "k 0 outside 1..64"},
		{"k 65", func() error { _, err := s.Search(q, 65); return err }, "k 65 outside 1..64"},
	} {
		err := c.f()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.what, err, c.want)
		}
		if s.Len() != 3 {
			t.Fatalf("%s: Len %d after the error, want 3", c.what, s.Len())
		}
		after, err := s.Search(q, 3)
		if err != nil || !slices.EqualFunc(after, before, slices.Equal) {
			t.Fatalf("%s changed the answers: %v, was %v (%v)", c.what, after, before, err)
		}
	}
	// k above the vector count: every vector, best first.
	if len(before[0]) != 3 || before[0][0].Index != 0 || before[0][1].Index != 1 || before[0][2].Index != 2 || before[0][2].Score != 0 {
		t.Errorf("k 3 of 3 vectors: %v", before[0])
	}
	s.Close()
	if _, err := s.Search(q, 1); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Search after Close: %v", err)
	}
}
