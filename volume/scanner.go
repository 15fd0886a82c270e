package volume

import (
	"fmt"
	"sync"
)

// ExactScanner runs exact search somewhere else than this process's
// cores — the GPU backend's search kernel (gpu.Searcher, adapted by the
// runtime) — over the Volume's vectors, vector i being slot i. The Volume
// keeps it in step: after items are added or removed, the next exact
// query loads every slot again (the scanner uploads only what changed)
// and removes the dead ones.
type ExactScanner interface {
	Load(vecs []float32) error
	Remove(slot int) error
	// Search returns each query's best k slots, best first, ties to the
	// lower slot, scores the cosine similarity.
	Search(queries []float32, k int) ([][]ScanMatch, error)
	// MaxK is the largest k it answers; a query for more is scanned here.
	MaxK() int
}

// ScanMatch is one slot an ExactScanner found, with its similarity.
type ScanMatch struct {
	Slot  uint32
	Score float32
}

// scannerState is the ExactScanner's side of a Volume: the generation of
// the slots it holds (Volume.gen when it last loaded them).
type scannerState struct {
	mu  sync.Mutex
	gen uint64
	ok  bool
}

// scan answers an exact query through the scanner, syncing it first. It
// runs under the Volume's read lock (the slots cannot change meanwhile);
// the scanner's own lock keeps two queries from syncing it at once. ok is
// false when there is no scanner or k is beyond it: the caller scans here.
func (v *Volume) scan(q []float32, k int) (found []scored, ok bool, err error) {
	sc := v.opt.Exact
	if sc == nil || k > sc.MaxK() {
		return nil, false, nil
	}
	st := &v.scanner
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ok || st.gen != v.gen {
		if err := sc.Load(v.vecs); err != nil {
			return nil, true, fmt.Errorf("volume: exact scanner: %w", err)
		}
		for s, dead := range v.dead {
			if dead {
				if err := sc.Remove(s); err != nil {
					return nil, true, fmt.Errorf("volume: exact scanner: %w", err)
				}
			}
		}
		st.gen, st.ok = v.gen, true
	}
	res, err := sc.Search(q, k)
	if err != nil {
		st.ok = false // resync before the next query
		return nil, true, fmt.Errorf("volume: exact scanner: %w", err)
	}
	if len(res) != 1 {
		return nil, true, fmt.Errorf("volume: exact scanner: %d answers for 1 query", len(res))
	}
	found = make([]scored, 0, len(res[0]))
	for _, m := range res[0] {
		if int(m.Slot) >= len(v.items) || v.dead[m.Slot] {
			st.ok = false
			return nil, true, fmt.Errorf("volume: exact scanner: slot %d is not a live item", m.Slot)
		}
		found = append(found, scored{slot: int32(m.Slot), sim: m.Score})
	}
	return found, true, nil
}
