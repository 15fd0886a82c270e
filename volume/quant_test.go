package volume

import (
	"math"
	"testing"
)

// TestQuantisedWalkScoresAreExact: the graph walks on 8-bit copies, but
// every returned score is the exact float dot product of the query and
// the item's stored vector (to the bit), hits come best first, and a
// Volume opened from the file (its copies derived again) answers exactly
// as the one that built the graph.
func TestQuantisedWalkScoresAreExact(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Embedder: HashEmbedder(64), ExactBelow: -1}
	v, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(randomData(3000, 64, 3)); err != nil {
		t.Fatal(err)
	}
	if !v.graph.quant || len(v.graph.q8) != 3000*64 || len(v.graph.q8s) != 3000 {
		t.Fatalf("no 8-bit copies: quant %v, %d bytes, %d scales", v.graph.quant, len(v.graph.q8), len(v.graph.q8s))
	}
	if err := v.Save(); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	for i, q := range queriesFrom(randomData, 50, 64) {
		hits, err := v.QueryVector(q, 10, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 10 {
			t.Fatalf("query %d: %d hits, want 10", i, len(hits))
		}
		nq := append([]float32(nil), q...)
		if err := normaliseChecked(nq); err != nil {
			t.Fatal(err)
		}
		for j, h := range hits {
			s := int(v.slotOf[h.ID])
			want := dot(nq, v.vecs[s*64:(s+1)*64])
			if math.Float32bits(h.Score) != math.Float32bits(want) {
				t.Fatalf("query %d hit %d (id %d): score %v, exact dot %v", i, j, h.ID, h.Score, want)
			}
			if j > 0 && h.Score > hits[j-1].Score {
				t.Fatalf("query %d: hit %d scores %v above hit %d's %v", i, j, h.Score, j-1, hits[j-1].Score)
			}
		}
		again, err := v2.QueryVector(q, 10, false)
		if err != nil {
			t.Fatal(err)
		}
		for j := range hits {
			if again[j].ID != hits[j].ID || again[j].Score != hits[j].Score {
				t.Fatalf("query %d hit %d: loaded Volume %d (%v), builder %d (%v)", i, j, again[j].ID, again[j].Score, hits[j].ID, hits[j].Score)
			}
		}
	}
}

// TestFloatWalkWhenDimIsNotBlocks: a dimension that is not a multiple of
// 16 has no 8-bit copies (the kernel works in blocks of 16) and walks on
// the float vectors; its answers still match the exact scan closely and
// carry exact scores.
func TestFloatWalkWhenDimIsNotBlocks(t *testing.T) {
	v, err := Open(t.TempDir(), Options{Embedder: HashEmbedder(24), ExactBelow: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Add(randomData(2000, 24, 5)); err != nil {
		t.Fatal(err)
	}
	if v.graph.quant || v.graph.q8 != nil {
		t.Fatalf("dim 24: 8-bit copies made (quant %v, %d bytes)", v.graph.quant, len(v.graph.q8))
	}
	qs := queriesFrom(randomData, 50, 24)
	if r := recallAt10(t, v, qs); r < 0.95 {
		t.Errorf("recall@10 %.3f at dim 24", r)
	}
	hits, err := v.QueryVector(qs[0], 5, false)
	if err != nil {
		t.Fatal(err)
	}
	nq := append([]float32(nil), qs[0]...)
	if err := normaliseChecked(nq); err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		s := int(v.slotOf[h.ID])
		if want := dot(nq, v.vecs[s*24:(s+1)*24]); h.Score != want {
			t.Fatalf("id %d: score %v, exact %v", h.ID, h.Score, want)
		}
	}
}
