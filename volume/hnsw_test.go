package volume

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

var fullSize = flag.Bool("volume.full", false, "run the recall tests at 100k items (the issue's size) instead of 20k")

// randomData: n unit vectors uniform on the sphere (Gaussian, normalised).
func randomData(n, dim int, seed uint64) []Item {
	r := rand.New(rand.NewPCG(seed, 1))
	items := make([]Item, n)
	for i := range items {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		items[i] = Item{Text: fmt.Sprint(i), Vector: v}
	}
	return items
}

// clusteredData: n vectors around 100 random centres (spread 0.3 per
// coordinate against the centres' 1), the shape of embedded documents
// that fall into topics.
func clusteredData(n, dim int, seed uint64) []Item {
	// The centres are the same for every seed, so queries (another
	// seed) fall in the data's clusters.
	r := rand.New(rand.NewPCG(42, 2))
	centres := make([][]float64, 100)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range centres[c] {
			centres[c][j] = r.NormFloat64()
		}
	}
	r = rand.New(rand.NewPCG(seed, 2))
	items := make([]Item, n)
	for i := range items {
		c := centres[r.IntN(len(centres))]
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(c[j] + 0.3*r.NormFloat64())
		}
		items[i] = Item{Text: fmt.Sprint(i), Vector: v}
	}
	return items
}

// queriesFrom draws query vectors the way the data was drawn (fresh points,
// not stored ones).
func queriesFrom(gen func(int, int, uint64) []Item, n, dim int) [][]float32 {
	qs := make([][]float32, n)
	for i, it := range gen(n, dim, 99) {
		qs[i] = it.Vector
	}
	return qs
}

// recallAt10 is the share of the exact top 10 that the graph returns.
func recallAt10(t testing.TB, v *Volume, qs [][]float32) float64 {
	found := 0
	for _, q := range qs {
		exact, err := v.QueryVector(q, 10, true)
		if err != nil {
			t.Fatal(err)
		}
		approx, err := v.QueryVector(q, 10, false)
		if err != nil {
			t.Fatal(err)
		}
		want := map[uint64]bool{}
		for _, h := range exact {
			want[h.ID] = true
		}
		for _, h := range approx {
			if want[h.ID] {
				found++
			}
		}
	}
	return float64(found) / float64(10*len(qs))
}

func TestRecallAgainstExact(t *testing.T) {
	n := 20000
	if *fullSize {
		n = 100000
	}
	if testing.Short() {
		n = 5000
	}
	for _, c := range []struct {
		name string
		gen  func(int, int, uint64) []Item
	}{{"random", randomData}, {"clustered", clusteredData}} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Open(t.TempDir(), Options{Embedder: HashEmbedder(64), ExactBelow: -1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Add(c.gen(n, 64, 1)); err != nil {
				t.Fatal(err)
			}
			r := recallAt10(t, v, queriesFrom(c.gen, 200, 64))
			t.Logf("%s: recall@10 %.4f at %d×64 (M %d, efSearch %d)", c.name, r, n, v.opt.M, v.opt.EfSearch)
			if r < 0.95 {
				t.Errorf("recall@10 %.4f < 0.95", r)
			}
		})
	}
}

// graphBytes is the Volume's file content: items and graph, byte for byte.
func graphBytes(t *testing.T, v *Volume) []byte {
	var b bytes.Buffer
	v.mu.RLock()
	defer v.mu.RUnlock()
	if err := v.encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSameItemsAndSeedBuildTheSameGraph(t *testing.T) {
	items := clusteredData(1500, 32, 5)
	build := func(seed int64, batches int) *Volume {
		v, _ := Open(t.TempDir(), Options{Embedder: HashEmbedder(32), ExactBelow: -1, Seed: seed})
		step := len(items) / batches
		for i := 0; i < len(items); i += step {
			if _, err := v.Add(items[i:min(i+step, len(items))]); err != nil {
				t.Fatal(err)
			}
		}
		return v
	}
	a, b := build(7, 1), build(7, 10)
	if !bytes.Equal(graphBytes(t, a), graphBytes(t, b)) {
		t.Error("same items and seed, added in other batches, built different graphs")
	}
	c := build(8, 1)
	if bytes.Equal(graphBytes(t, a), graphBytes(t, c)) {
		t.Error("a different seed built the same graph: the seed is not used")
	}
	// Removing then rebuilding gives the graph built from the survivors.
	ids := make([]uint64, 0, 300)
	for id := uint64(1); id <= 300; id++ {
		ids = append(ids, id)
	}
	a.Remove(ids)
	a.Rebuild()
	d := build(7, 1)
	d.Remove(ids)
	d.Rebuild()
	if !bytes.Equal(graphBytes(t, a), graphBytes(t, d)) {
		t.Error("rebuilds after the same removals differ")
	}
	st := a.Stats()
	if st.Items != 1200 || st.Removed != 0 || st.Index != "hnsw" || st.Edges == 0 {
		t.Errorf("stats after rebuild %+v", st)
	}
}

func TestDeletesKeepRecall(t *testing.T) {
	items := clusteredData(3000, 32, 3)
	v, _ := Open(t.TempDir(), Options{Embedder: HashEmbedder(32), ExactBelow: -1})
	ids, _ := v.Add(items)
	// Remove a fifth (below the compaction threshold): tombstones only.
	var gone []uint64
	for i, id := range ids {
		if i%5 == 0 {
			gone = append(gone, id)
		}
	}
	if n, _ := v.Remove(gone); n != len(gone) {
		t.Fatalf("removed %d", n)
	}
	if st := v.Stats(); st.Removed != len(gone) {
		t.Fatalf("expected tombstones, stats %+v", st)
	}
	dead := map[uint64]bool{}
	for _, id := range gone {
		dead[id] = true
	}
	qs := queriesFrom(clusteredData, 100, 32)
	for _, q := range qs {
		hits, _ := v.QueryVector(q, 10, false)
		for _, h := range hits {
			if dead[h.ID] {
				t.Fatalf("removed item %d returned", h.ID)
			}
		}
	}
	if r := recallAt10(t, v, qs); r < 0.95 {
		t.Errorf("recall@10 with tombstones %.4f", r)
	}
	// Past a quarter, Remove compacts.
	v.Remove(ids[1:600])
	if st := v.Stats(); st.Removed != 0 || st.Items >= 3000-len(gone) {
		t.Errorf("no compaction: %+v", st)
	}
	if r := recallAt10(t, v, qs); r < 0.95 {
		t.Errorf("recall@10 after compaction %.4f", r)
	}
}

// Readers query while a writer adds and removes: run with -race.
func TestConcurrentReadersDuringWrites(t *testing.T) {
	v, _ := Open(t.TempDir(), Options{Embedder: HashEmbedder(32), ExactBelow: 500})
	items := randomData(3000, 32, 11)
	v.Add(items[:200])
	qs := queriesFrom(randomData, 20, 32)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				hits, err := v.QueryVector(qs[i%len(qs)], 5, i%3 == 0)
				if err != nil || len(hits) == 0 {
					errs <- fmt.Errorf("query: %d hits, %v", len(hits), err)
					return
				}
				v.Stats()
			}
		}()
	}
	for i := 200; i < len(items); i += 100 {
		ids, err := v.Add(items[i : i+100])
		if err != nil {
			t.Fatal(err)
		}
		v.Remove(ids[:10])
	}
	v.Rebuild()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := v.Stats(); st.Index != "hnsw" || st.Items != 3000-28*10 {
		t.Errorf("stats %+v", st)
	}
}
