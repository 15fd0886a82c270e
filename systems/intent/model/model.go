package model

import (
	"fmt"
	"math"
)

// Model scores a candidate as the dot product of its weights with the
// candidate's Features; Probabilities is the softmax over one utterance's
// candidates. There is no bias: a softmax is unchanged when every score
// moves by the same amount, so a bias could never change a choice.
//
// A linear score is the smallest model that can weigh the cues against
// each other (an explicit name beats a glance; a glance beats an old
// target), it trains from a few hundred utterances without overfitting,
// its six weights are read straight off the weights file, and its forward
// pass is six multiply-adds per candidate.
type Model struct {
	// Weights multiply the features, index by index.
	Weights [NumFeatures]float32
	// Training says where the weights came from; zero for hand-set ones.
	Training Provenance
}

// Provenance records how a weights file was trained.
type Provenance struct {
	// Journal is the journal trained on (a base name; "synthetic:N" for a
	// generated one of N utterances).
	Journal string `json:"journal"`
	// Command is the command line that trained the weights.
	Command string `json:"command,omitempty"`
	Seed    int64  `json:"seed"`
	Epochs  int    `json:"epochs"`
	// Examples and Heldout count the utterances trained on and evaluated on.
	Examples int `json:"examples"`
	Heldout  int `json:"heldout"`
	// Accuracy, Geometry and Focus are held-out target accuracies of the
	// trained model, of the geometry-only baseline and of choosing the
	// focused candidate.
	Accuracy float64 `json:"accuracy"`
	Geometry float64 `json:"geometry_accuracy"`
	Focus    float64 `json:"focus_accuracy"`
}

// Score is one candidate's score, the softmax's input.
func (m *Model) Score(f *Features) float64 {
	var s float64
	for i, w := range m.Weights {
		s += float64(w) * float64(f[i])
	}
	return s
}

// Probabilities writes the softmax over the candidates' scores into out
// (len(out) >= len(feats)); it allocates nothing. A score that is NaN
// counts as impossible; if every score is, the candidates are equally
// likely. A short out is a programming error and panics.
func (m *Model) Probabilities(feats []Features, out []float32) {
	n := len(feats)
	if len(out) < n {
		panic(fmt.Sprintf("model: Probabilities: out has %d slots for %d candidates", len(out), n))
	}
	if n == 0 {
		return
	}
	max := math.Inf(-1)
	for i := range feats {
		s := m.Score(&feats[i])
		if s != s {
			s = math.Inf(-1)
		}
		if s > max {
			max = s
		}
		out[i] = float32(s)
	}
	switch {
	case math.IsInf(max, -1): // no usable score
		for i := range n {
			out[i] = 1 / float32(n)
		}
		return
	case math.IsInf(max, 1): // the infinite ones share everything
		for i := range n {
			out[i] = boolf(math.IsInf(float64(out[i]), 1))
		}
		normalise(out[:n])
		return
	}
	// Scores are kept in out as float32, but the exponentials are taken
	// from the float64 scores again so that no precision is lost to the
	// temporary store.
	var sum float64
	for i := range feats {
		s := m.Score(&feats[i])
		e := 0.0
		if s == s {
			e = math.Exp(s - max)
		}
		out[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range n {
		out[i] = float32(float64(out[i]) * inv)
	}
}

func boolf(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func normalise(p []float32) {
	var sum float32
	for _, v := range p {
		sum += v
	}
	for i := range p {
		p[i] /= sum
	}
}

// Geometry is the baseline: it scores a candidate from gaze, nearness and
// dwell only, with fixed weights (what the rays alone say), ignoring words,
// recency and state.
func Geometry() *Model {
	var m Model
	m.Weights[FeatGaze] = 4
	m.Weights[FeatNear] = 2
	m.Weights[FeatDwell] = 4
	return &m
}
