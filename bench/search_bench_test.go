package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rayos/engine/gpu"
)

// The Volume's exact search on the backends: 100k unit vectors of 64
// floats, the top 10 of one query and of a batch of 256, on the CPU
// backend (the twin on every core, and on one), on Vulkan, and as a plain
// single-threaded loop (score every vector, keep the top k by insertion)
// that is the baseline.
const (
	searchN   = 100_000
	searchDim = 64
	searchK   = 10
)

func searchData(n, dim int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, seed))
	v := make([]float32, n*dim)
	for i := range n {
		row := v[i*dim : (i+1)*dim]
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

// plainSearch is the baseline: one goroutine, gpu.Dot, an insertion top k.
func plainSearch(vecs []float32, dim int, queries []float32, k int) [][]gpu.Match {
	out := make([][]gpu.Match, 0, len(queries)/dim)
	for q := 0; q < len(queries)/dim; q++ {
		query := queries[q*dim : (q+1)*dim]
		top := make([]gpu.Match, 0, k+1)
		for v := 0; v < len(vecs)/dim; v++ {
			m := gpu.Match{Index: uint32(v), Score: gpu.Dot(query, vecs[v*dim:(v+1)*dim])}
			if len(top) == k && m.Score <= top[k-1].Score {
				continue
			}
			i := len(top)
			top = append(top, m)
			for i > 0 && m.Score > top[i-1].Score {
				top[i] = top[i-1]
				i--
			}
			top[i] = m
			top = top[:min(len(top), k)]
		}
		out = append(out, top)
	}
	return out
}

func BenchmarkVolumeExactSearch(b *testing.B) {
	vecs := searchData(searchN, searchDim, 1)
	for _, nq := range []int{1, 256} {
		queries := searchData(nq, searchDim, 2)
		want := plainSearch(vecs, searchDim, queries, searchK)
		b.Run(fmt.Sprintf("queries=%d/plain-loop", nq), func(b *testing.B) {
			for b.Loop() {
				plainSearch(vecs, searchDim, queries, searchK)
			}
		})
		all := backendsFor(b)
		for _, c := range []struct {
			name string
			b    gpu.Backend
		}{{"cpu-pool", all[0]}, {"cpu-1-thread", gpu.NewCPUWorkers(1)}, {"vulkan", all[1]}} {
			b.Run(fmt.Sprintf("queries=%d/%s", nq, c.name), func(b *testing.B) {
				s, err := gpu.NewSearcher(c.b, searchDim)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if err := s.Load(vecs); err != nil {
					b.Fatal(err)
				}
				got, err := s.Search(queries, searchK)
				if err != nil {
					b.Fatal(err)
				}
				// Random unit vectors have no equal scores: the plain loop's
				// lists (ties unordered) must be the Searcher's.
				for q := range want {
					for i := range want[q] {
						if got[q][i] != want[q][i] {
							b.Fatalf("query %d: %v, plain loop %v", q, got[q], want[q])
						}
					}
				}
				before := c.b.Stats()
				for b.Loop() {
					if _, err := s.Search(queries, searchK); err != nil {
						b.Fatal(err)
					}
				}
				st := c.b.Stats()
				b.ReportMetric(float64(st.BytesRead-before.BytesRead)/float64(b.N), "B-read/op")
				b.ReportMetric(float64(nq)*searchN/b.Elapsed().Seconds()*float64(b.N)/1e6, "Mvec/s")
			})
		}
	}
}
