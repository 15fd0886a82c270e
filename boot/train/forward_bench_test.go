package train

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rayos/engine/systems/intent/model"
)

// BenchmarkProbabilities measures the tick's hand-written forward pass
// (model.Model.Probabilities) against gorgonia's graph of the same model
// (Forward) on the same 64 candidates, one after the other in each run,
// and reports both per pass and their ratio (allocs/op are gorgonia's:
// the hand pass allocates nothing, systems/intent/model TestProbabilitiesDoesNotAllocate).
// Run it briefly:
//
//	go test ./boot/train -run '^$' -bench Probabilities -benchtime 2000x
func BenchmarkProbabilities(b *testing.B) {
	const n = 64
	m := model.Default()
	feats := randomFeatures(rand.New(rand.NewPCG(5, 6)), n)
	f, err := NewForward(m, n)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	hand, graph := make([]float32, n), make([]float32, n)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		m.Probabilities(feats, hand)
	}
	handNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	start = time.Now()
	for range b.N {
		if err := f.Probabilities(feats, graph); err != nil {
			b.Fatal(err)
		}
	}
	graphNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.StopTimer()
	for i := range hand {
		if d := hand[i] - graph[i]; d > 1e-6 || d < -1e-6 {
			b.Fatalf("candidate %d: hand %v, gorgonia %v", i, hand[i], graph[i])
		}
	}
	b.ReportMetric(handNs, "hand-ns/pass")
	b.ReportMetric(graphNs, "gorgonia-ns/pass")
	b.ReportMetric(graphNs/handNs, "gorgonia/hand")
}
