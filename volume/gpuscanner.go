package volume

import "github.com/rayos/engine/gpu"

// GPU is the GPU backend's search kernel (a gpu.Searcher of the Volume's
// dimension) as the Volume's ExactScanner.
func GPU(s *gpu.Searcher) ExactScanner { return gpuScanner{s} }

type gpuScanner struct{ s *gpu.Searcher }

func (g gpuScanner) Load(vecs []float32) error { return g.s.Load(vecs) }
func (g gpuScanner) Remove(slot int) error     { return g.s.Remove(slot) }
func (g gpuScanner) MaxK() int                 { return gpu.MaxSearchK }

func (g gpuScanner) Search(queries []float32, k int) ([][]ScanMatch, error) {
	res, err := g.s.Search(queries, k)
	if err != nil {
		return nil, err
	}
	out := make([][]ScanMatch, len(res))
	for i, r := range res {
		out[i] = make([]ScanMatch, len(r))
		for j, m := range r {
			out[i][j] = ScanMatch{Slot: m.Index, Score: m.Score}
		}
	}
	return out, nil
}
