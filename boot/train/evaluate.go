package train

import (
	"math/rand/v2"
	"slices"

	"github.com/rayos/engine/systems/intent/model"
)

// Scores are held-out target accuracies, each in [0,1].
type Scores struct {
	// Model is the trained model's, Geometry the geometry-only
	// baseline's (model.Geometry), Focus choosing the focused candidate.
	Model, Geometry, Focus float64
	// N is how many examples they were measured on.
	N int
}

// Accuracy is the share of examples whose target is m's unique most
// probable candidate. A tie for the top counts as a miss: a model that
// cannot tell the candidates apart has not chosen.
func Accuracy(m *model.Model, examples []Example) float64 {
	if len(examples) == 0 {
		return 0
	}
	var out []float32
	hits := 0
	for _, ex := range examples {
		out = slices.Grow(out[:0], len(ex.Feats))[:len(ex.Feats)]
		m.Probabilities(ex.Feats, out)
		if best, unique := argmax(out); unique && best == ex.Target {
			hits++
		}
	}
	return float64(hits) / float64(len(examples))
}

// FocusAccuracy is the share of examples whose target is the focused
// candidate (none focused is a miss).
func FocusAccuracy(examples []Example) float64 {
	if len(examples) == 0 {
		return 0
	}
	hits := 0
	for _, ex := range examples {
		if ex.Focused >= 0 && ex.Focused == ex.Target {
			hits++
		}
	}
	return float64(hits) / float64(len(examples))
}

// Evaluate measures m and both baselines on examples.
func Evaluate(m *model.Model, examples []Example) Scores {
	return Scores{
		Model: Accuracy(m, examples), Geometry: Accuracy(model.Geometry(), examples),
		Focus: FocusAccuracy(examples), N: len(examples),
	}
}

func argmax(p []float32) (int, bool) {
	best, unique := -1, false
	for i, v := range p {
		switch {
		case best < 0 || v > p[best]:
			best, unique = i, true
		case v == p[best]:
			unique = false
		}
	}
	return best, unique
}

// Split shuffles a copy of examples with seed and holds out the given
// share (at least one example when there are two or more): the same
// examples and seed give the same split.
func Split(examples []Example, heldout float64, seed uint64) (train, test []Example) {
	all := slices.Clone(examples)
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	n := int(float64(len(all)) * heldout)
	if n == 0 && len(all) >= 2 && heldout > 0 {
		n = 1
	}
	return all[n:], all[:n]
}
