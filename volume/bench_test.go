package volume

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
)

var (
	benchN  = flag.Int("volume.n", 100000, "items in the Volume benchmarks (64-d)")
	benchM  = flag.Int("volume.m", 0, "M for the Volume benchmarks (0: the default)")
	benchEf = flag.Int("volume.ef", 0, "EfSearch for the Volume benchmarks (0: the default)")
)

type benchVolume struct {
	v       *Volume
	dir     string
	qs      [][]float32
	buildS  float64
	heapPer float64
}

var (
	benchOnce sync.Map // dataset name → *benchVolume
)

// benchSet builds (once per run) a Volume of *benchN 64-d items with the
// default parameters and the graph forced on, measuring build time and
// the heap it holds per item.
func benchSet(b *testing.B, name string) *benchVolume {
	if bv, ok := benchOnce.Load(name); ok {
		return bv.(*benchVolume)
	}
	gen := randomData
	if name == "clustered" {
		gen = clusteredData
	}
	dir := b.TempDir()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// Generated inside the window: Add copies the vectors, and the
	// items are dropped before the second reading.
	items := gen(*benchN, 64, 1)
	v, err := Open(dir, Options{Embedder: HashEmbedder(64), ExactBelow: -1, M: *benchM, EfSearch: *benchEf})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if _, err := v.Add(items); err != nil {
		b.Fatal(err)
	}
	build := time.Since(t0)
	items = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	bv := &benchVolume{v: v, dir: dir, qs: queriesFrom(gen, 1000, 64), buildS: build.Seconds(),
		heapPer: float64(after.HeapAlloc-before.HeapAlloc) / float64(*benchN)}
	benchOnce.Store(name, bv)
	return bv
}

// BenchmarkVolume: per dataset, single-threaded queries through the graph
// and through the exact scan in the same run (ns/op each; their ratio is
// the speed-up), and a "figures" pass reporting recall@10, query p50/p99,
// build time, memory per item and save/load throughput.
//
//	go test ./volume -run '^$' -bench Volume -benchtime 2000x            # 100k
//	go test ./volume -run '^$' -bench Volume -benchtime 200x -volume.n 20000
func BenchmarkVolume(b *testing.B) {
	for _, name := range []string{"random", "clustered"} {
		b.Run(name+"/hnsw", func(b *testing.B) {
			bv := benchSet(b, name)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bv.v.QueryVector(bv.qs[i%len(bv.qs)], 10, false)
			}
		})
		b.Run(name+"/exact-1core", func(b *testing.B) {
			bv := benchSet(b, name)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bv.v.QueryVector(bv.qs[i%len(bv.qs)], 10, true)
			}
		})
		b.Run(name+"/exact-parallel", func(b *testing.B) {
			bv := benchSet(b, name)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bv.v.QueryVector(bv.qs[i%len(bv.qs)], 10, true)
			}
		})
		b.Run(name+"/figures", func(b *testing.B) {
			bv := benchSet(b, name)
			lat := make([]time.Duration, len(bv.qs))
			for i, q := range bv.qs {
				t0 := time.Now()
				bv.v.QueryVector(q, 10, false)
				lat[i] = time.Since(t0)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(recallAt10(b, bv.v, bv.qs[:300]), "recall@10")
			b.ReportMetric(bv.buildS, "build-s")
			b.ReportMetric(bv.heapPer, "heap-B/item")
			t0 := time.Now()
			if err := bv.v.Save(); err != nil {
				b.Fatal(err)
			}
			save := time.Since(t0)
			info, _ := os.Stat(filepath.Join(bv.dir, FileName))
			t0 = time.Now()
			v2, err := Open(bv.dir, Options{Embedder: HashEmbedder(64), ExactBelow: -1})
			if err != nil {
				b.Fatal(err)
			}
			load := time.Since(t0)
			v2.Close()
			mb := float64(info.Size()) / 1e6
			b.ReportMetric(mb, "file-MB")
			b.ReportMetric(mb/save.Seconds(), "save-MB/s")
			b.ReportMetric(mb/load.Seconds(), "load-MB/s")
		})
	}
}
