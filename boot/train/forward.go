package train

import (
	"fmt"

	"github.com/rayos/engine/systems/intent/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Forward is the model's forward pass as a gorgonia graph: softmax(X·w)
// for n candidates. It exists to check the hand-written pass the tick
// runs (model.Model.Probabilities) and to measure it against; the tick
// never builds one.
type Forward struct {
	n   int
	xs  []float64
	x   *G.Node
	out *G.Node
	vm  G.VM
}

// NewForward builds the graph for m and n candidates (n ≥ 1).
func NewForward(m *model.Model, n int) (*Forward, error) {
	if n < 1 {
		return nil, fmt.Errorf("forward pass for %d candidates", n)
	}
	f := &Forward{n: n, xs: make([]float64, n*model.NumFeatures)}
	g := G.NewGraph()
	f.x = G.NewMatrix(g, tensor.Float64, G.WithShape(n, model.NumFeatures), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(n, model.NumFeatures), tensor.WithBacking(f.xs))))
	ws := make([]float64, model.NumFeatures)
	for i, v := range m.Weights {
		ws[i] = float64(v)
	}
	w := G.NewConstant(tensor.New(tensor.WithShape(model.NumFeatures), tensor.WithBacking(ws)), G.WithName("w"))
	scores, err := G.Mul(f.x, w)
	if err != nil {
		return nil, err
	}
	if f.out, err = G.SoftMax(scores); err != nil {
		return nil, err
	}
	f.vm = G.NewTapeMachine(g)
	return f, nil
}

// Probabilities runs the graph on feats (len n) and writes the softmax
// into out.
func (f *Forward) Probabilities(feats []model.Features, out []float32) error {
	if len(feats) != f.n || len(out) < f.n {
		return fmt.Errorf("forward pass built for %d candidates, given %d (out %d)", f.n, len(feats), len(out))
	}
	for i, ft := range feats {
		for j, v := range ft {
			f.xs[i*model.NumFeatures+j] = float64(v)
		}
	}
	f.vm.Reset()
	if err := f.vm.RunAll(); err != nil {
		return err
	}
	for i, p := range f.out.Value().Data().([]float64) {
		out[i] = float32(p)
	}
	return nil
}

// Close releases the graph's machine.
func (f *Forward) Close() { f.vm.Close() }
