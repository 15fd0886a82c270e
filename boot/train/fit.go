package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/rayos/engine/systems/intent/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Example is one resolved utterance: its candidates' features and the
// index of the guest the user meant.
type Example struct {
	// Source is the utterance's input sequence number; Tick when it was
	// resolved.
	Source, Tick uint64
	// Names are the candidates' guest ids, in the order of Feats.
	Names []string
	Feats []model.Features
	// Target is the index of the right candidate (from the labels).
	Target int
	// Focused is the candidate the world's Focus rested on (the longest
	// dwell), -1 when none: the "choose the focused one" baseline.
	Focused int
}

// Settings are the fitting's knobs; the defaults are what the default
// weights were trained with.
type Settings struct {
	// Epochs of full-batch Adam.
	Epochs int
	// LearnRate is Adam's step size.
	LearnRate float64
	// L2 penalises large weights (λ·Σw²), so that separable data does not
	// drive them to the bound.
	L2 float64
	// Progress, when set, is called after every epoch.
	Progress func(epoch int)
}

// DefaultSettings are the settings `rayos train attention` uses.
var DefaultSettings = Settings{Epochs: 400, LearnRate: 0.05, L2: 1e-3}

// weightBound clips the weights after every step: with features in [0,1]
// it keeps exp(score) far from overflow whatever the data.
const weightBound = 50

// Fit minimises the mean softmax cross-entropy of the examples' targets
// (plus the L2 penalty) over the model's weights, with gorgonia's autodiff
// and its Adam solver: full batch, weights starting at zero, so the same
// examples give the same weights.
func Fit(examples []Example, s Settings) (*model.Model, error) {
	if len(examples) == 0 {
		return nil, errors.New("no examples to train on")
	}
	if s.Epochs <= 0 || !(s.LearnRate > 0) || !(s.L2 >= 0) {
		return nil, fmt.Errorf("settings: epochs %d, learn rate %v, l2 %v: want positive epochs and rate, l2 ≥ 0", s.Epochs, s.LearnRate, s.L2)
	}
	// Utterances have different numbers of candidates: pad every one to
	// the largest, and mask the padding out of the softmax's sum.
	e, k := len(examples), 0
	for i, ex := range examples {
		if ex.Target < 0 || ex.Target >= len(ex.Feats) {
			return nil, fmt.Errorf("example %d (input %d): target %d is not one of its %d candidates", i, ex.Source, ex.Target, len(ex.Feats))
		}
		k = max(k, len(ex.Feats))
	}
	xs := make([]float64, e*k*model.NumFeatures)
	ys := make([]float64, e*k)
	ms := make([]float64, e*k)
	for i, ex := range examples {
		for j, f := range ex.Feats {
			row := (i*k + j) * model.NumFeatures
			for n, v := range f {
				xs[row+n] = float64(v)
			}
			ms[i*k+j] = 1
		}
		ys[i*k+ex.Target] = 1
	}

	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(e*k, model.NumFeatures), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(e*k, model.NumFeatures), tensor.WithBacking(xs))))
	y := G.NewMatrix(g, tensor.Float64, G.WithShape(e, k), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(e, k), tensor.WithBacking(ys))))
	mask := G.NewMatrix(g, tensor.Float64, G.WithShape(e, k), G.WithName("mask"),
		G.WithValue(tensor.New(tensor.WithShape(e, k), tensor.WithBacking(ms))))
	w := G.NewVector(g, tensor.Float64, G.WithShape(model.NumFeatures), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(model.NumFeatures), tensor.WithBacking(make([]float64, model.NumFeatures)))))

	// loss = mean over examples of log Σ_k mask·exp(s) − s[target], the
	// softmax cross-entropy written so that padding (score 0, mask 0)
	// contributes nothing and no log of zero is ever taken.
	var err error
	must := func(n *G.Node, e error) *G.Node {
		if err == nil {
			err = e
		}
		return n
	}
	scores := must(G.Reshape(must(G.Mul(x, w)), tensor.Shape{e, k}))
	lse := must(G.Log(must(G.Sum(must(G.HadamardProd(must(G.Exp(scores)), mask)), 1))))
	picked := must(G.Sum(must(G.HadamardProd(scores, y)), 1))
	nll := must(G.Mean(must(G.Sub(lse, picked))))
	l2 := G.NewConstant(s.L2, G.WithName("l2"))
	cost := must(G.Add(nll, must(G.Mul(l2, must(G.Sum(must(G.Square(w))))))))
	if err != nil {
		return nil, fmt.Errorf("building the training graph: %w", err)
	}
	if _, err := G.Grad(cost, w); err != nil {
		return nil, fmt.Errorf("differentiating the loss: %w", err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(w))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(s.LearnRate))
	for epoch := range s.Epochs {
		if err := vm.RunAll(); err != nil {
			return nil, fmt.Errorf("epoch %d: %w", epoch, err)
		}
		if err := solver.Step(G.NodesToValueGrads(G.Nodes{w})); err != nil {
			return nil, fmt.Errorf("epoch %d: solver: %w", epoch, err)
		}
		vm.Reset()
		clip(w.Value().Data().([]float64))
		if s.Progress != nil {
			s.Progress(epoch + 1)
		}
	}
	m := &model.Model{}
	for i, v := range w.Value().Data().([]float64) {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("training diverged: weight %s is NaN", model.FeatureNames[i])
		}
		m.Weights[i] = float32(v)
	}
	m.Training.Epochs = s.Epochs
	m.Training.Examples = len(examples)
	return m, nil
}

func clip(ws []float64) {
	for i, v := range ws {
		ws[i] = max(-weightBound, min(weightBound, v))
	}
}
