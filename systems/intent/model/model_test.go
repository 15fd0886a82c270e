package model_test

import (
	"math"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
)

func TestDefaultLoadsAndSumsToOne(t *testing.T) {
	m := model.Default()
	feats := []model.Features{
		model.Candidate{Gaze: 1, HitT: 2, DwellTicks: 100, IdleTicks: math.MaxUint64}.Features(60),
		model.Candidate{IdleTicks: 30, Name: 1, StateFit: 1}.Features(60),
		model.Candidate{IdleTicks: math.MaxUint64}.Features(60),
	}
	out := make([]float32, 3)
	m.Probabilities(feats, out)
	var sum float32
	for _, p := range out {
		if !(p >= 0 && p <= 1) {
			t.Fatalf("probability %v outside [0,1]: %v", p, out)
		}
		sum += p
	}
	if math.Abs(float64(sum)-1) > 1e-6 {
		t.Fatalf("probabilities sum to %v: %v", sum, out)
	}
	if out[2] >= out[0] || out[2] >= out[1] {
		t.Fatalf("a candidate with no cue scored as high as one with cues: %v", out)
	}
}
