package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func texts(n int) []Item {
	topics := []string{"kernel scheduler", "gpu shader", "policy gate", "guest vm", "vector volume"}
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{
			Text: fmt.Sprintf("note %d about the %s and item%d", i, topics[i%len(topics)], i),
			Meta: map[string]string{"file": fmt.Sprintf("notes/%d.md", i%7), "offset": fmt.Sprint(i * 100)},
		}
	}
	return items
}

func TestAddQuerySaveOpenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := v.Add(texts(50))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 50 || ids[0] != 1 || ids[49] != 50 {
		t.Fatalf("ids %v", ids)
	}
	hits, err := v.Query("policy gate item7", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 || hits[0].ID != 8 || hits[0].Meta["file"] != "notes/0.md" {
		t.Fatalf("hits %+v", hits)
	}
	if hits[0].Score < hits[1].Score || hits[0].Score > 1.0001 {
		t.Errorf("scores not ordered or above 1: %+v", hits)
	}
	if err := v.Save(); err != nil {
		t.Fatal(err)
	}
	v2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hits2, err := v2.Query("policy gate item7", 3, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hits {
		if hits[i].ID != hits2[i].ID || hits[i].Score != hits2[i].Score || hits[i].Text != hits2[i].Text {
			t.Errorf("after reload hit %d: %+v, before %+v", i, hits2[i], hits[i])
		}
	}
	st := v2.Stats()
	if st.Items != 50 || st.Dim != DefaultDim || st.FileSize == 0 || st.Index != "exact" || !strings.HasPrefix(st.Embedder, "hash-") {
		t.Errorf("stats %+v", st)
	}
}

func TestBadItemsAddNothing(t *testing.T) {
	v, _ := Open(t.TempDir(), Options{Embedder: HashEmbedder(16)})
	nan := make([]float32, 16)
	nan[3] = float32(nanf())
	for name, items := range map[string][]Item{
		"no text":    {{Text: "fine"}, {}},
		"wrong dim":  {{Vector: make([]float32, 3)}},
		"zero":       {{Vector: make([]float32, 16)}},
		"nan":        {{Vector: nan}},
		"punct only": {{Text: "!!! ..."}},
	} {
		if _, err := v.Add(items); err == nil || !strings.Contains(err.Error(), "item ") {
			t.Errorf("%s: err %v, want one naming the item", name, err)
		}
	}
	if st := v.Stats(); st.Items != 0 || st.NextID != 1 {
		t.Errorf("bad input changed the Volume: %+v", st)
	}
	if _, err := v.Query("x", 0, true); err == nil {
		t.Error("k 0 accepted")
	}
	if _, err := v.QueryVector(make([]float32, 5), 1, true); err == nil {
		t.Error("a short query vector was accepted")
	}
}

func nanf() float64 { var z float64; return z / z }

func TestRemove(t *testing.T) {
	v, _ := Open(t.TempDir(), Options{})
	ids, _ := v.Add(texts(20))
	n, err := v.Remove([]uint64{ids[7], 999, ids[7]})
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	hits, _ := v.Query("policy gate item7", 20, true)
	for _, h := range hits {
		if h.ID == ids[7] {
			t.Fatal("a removed item was returned")
		}
	}
	if len(hits) != 19 {
		t.Errorf("%d hits", len(hits))
	}
}

func TestCorruptFileFallsBackToPrevious(t *testing.T) {
	dir := t.TempDir()
	v, _ := Open(dir, Options{})
	v.Add(texts(10))
	if err := v.Save(); err != nil {
		t.Fatal(err)
	}
	v.Add(texts(5))
	if err := v.Save(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, data[:len(data)/2], 0o644)
	v2, err := Open(dir, Options{})
	var rec *RecoveryError
	if !errors.As(err, &rec) || v2 == nil {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error does not name the file and the damage: %v", err)
	}
	if st := v2.Stats(); st.Items != 10 {
		t.Errorf("loaded %d items from the copy, want 10", st.Items)
	}
	// Saving again keeps the damaged file aside and the copy intact.
	v2.Add(texts(1))
	if err := v2.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Error("damaged file not kept aside:", err)
	}
	if f, err := readFile(path + PrevSuffix); err != nil || len(f.items) != 10 {
		t.Errorf("the copy after saving over a damaged file: %v", err)
	}
}
