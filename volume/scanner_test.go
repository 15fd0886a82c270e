package volume

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rayos/engine/gpu"
)

// Exact queries through the GPU backend's search kernel give exactly the
// answers of the scan on this process's cores — the same slots, the same
// scores to the bit — after adds and removes too (the scanner reloads).
func TestExactScannerGivesTheSameAnswers(t *testing.T) {
	s, err := gpu.NewSearcher(gpu.NewCPU(), DefaultDim)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	with, err := Open(t.TempDir(), Options{Exact: GPU(s)})
	if err != nil {
		t.Fatal(err)
	}
	without, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	for i := range 300 {
		items = append(items, Item{Text: fmt.Sprintf("passage %d about topic %d and word %d", i, i%17, i%5)})
	}
	for _, v := range []*Volume{with, without} {
		if _, err := v.Add(items); err != nil {
			t.Fatal(err)
		}
	}
	same := func(when string) {
		t.Helper()
		for _, q := range []string{"topic 3", "word 4 passage", "nothing like it"} {
			a, err := with.Query(q, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			b, err := without.Query(q, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(a, b, func(x, y Hit) bool { return x.ID == y.ID && x.Score == y.Score }) {
				t.Errorf("%s, %q: scanner %v, cores %v", when, q, a, b)
			}
		}
	}
	same("after adding")
	for _, v := range []*Volume{with, without} {
		if _, err := v.Remove([]uint64{1, 2, 3, 50}); err != nil {
			t.Fatal(err)
		}
	}
	same("after removing")
	// A k beyond the kernel's is scanned on the cores.
	if hits, err := with.Query("topic", gpu.MaxSearchK+1, true); err != nil || len(hits) != gpu.MaxSearchK+1 {
		t.Errorf("k beyond the scanner: %d hits, %v", len(hits), err)
	}
}

// A scanner that fails is an error for the query, not a wrong answer.
func TestExactScannerFailureIsAnError(t *testing.T) {
	v, err := Open(t.TempDir(), Options{Exact: brokenScanner{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add([]Item{{Text: "one"}, {Text: "two"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Query("one", 1, true); err == nil || !errors.Is(err, errBroken) {
		t.Errorf("query through a broken scanner: %v", err)
	}
}

var errBroken = errors.New("device lost")

type brokenScanner struct{}

func (brokenScanner) Load([]float32) error                         { return errBroken }
func (brokenScanner) Remove(int) error                             { return nil }
func (brokenScanner) MaxK() int                                    { return 64 }
func (brokenScanner) Search([]float32, int) ([][]ScanMatch, error) { return nil, errBroken }
