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

func TestProbabilitiesDoesNotAllocate(t *testing.T) {
	m := model.Default()
	feats := make([]model.Features, 64)
	for i := range feats {
		feats[i] = model.Candidate{Gaze: float32(i) / 64, HitT: 2, DwellTicks: uint64(i), IdleTicks: uint64(i * 10)}.Features(60)
	}
	out := make([]float32, len(feats))
	if n := testing.AllocsPerRun(100, func() { m.Probabilities(feats, out) }); n != 0 {
		t.Fatalf("Probabilities allocates %v times per call", n)
	}
}

func TestProbabilitiesSurvivesHostileFeatures(t *testing.T) {
	m := &model.Model{Weights: model.Features{1, 1, 1, 1, 1, 1}}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	out := make([]float32, 3)
	m.Probabilities([]model.Features{{nan}, {nan}, {nan}}, out)
	for _, p := range out {
		if math.Abs(float64(p)-1.0/3) > 1e-6 {
			t.Fatalf("all scores NaN: want uniform, got %v", out)
		}
	}
	m.Probabilities([]model.Features{{inf}, {0}, {nan}}, out)
	if out[0] != 1 || out[1] != 0 || out[2] != 0 {
		t.Fatalf("an infinite score should take everything: %v", out)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a short out did not panic")
		}
	}()
	m.Probabilities(make([]model.Features, 2), out[:1])
}

func TestFeaturesNormalisation(t *testing.T) {
	never := uint64(math.MaxUint64)
	cases := []struct {
		name string
		c    model.Candidate
		hz   float64
		want model.Features
	}{
		{"nothing", model.Candidate{IdleTicks: never}, 60, model.Features{}},
		{"gaze 1 at 1 m", model.Candidate{Gaze: 1, HitT: 1, IdleTicks: never}, 60, model.Features{0.63212055, 0.5}},
		{"dwell half a second", model.Candidate{DwellTicks: 30, IdleTicks: never}, 60, model.Features{model.FeatDwell: 0.63212055}},
		{"target 10 s ago", model.Candidate{IdleTicks: 600}, 60, model.Features{model.FeatRecent: 0.36787945}},
		{"target this tick", model.Candidate{IdleTicks: 0}, 0, model.Features{model.FeatRecent: 1}},
		{"no clock", model.Candidate{DwellTicks: 30, IdleTicks: 5}, math.NaN(), model.Features{}},
		{"hostile", model.Candidate{Gaze: float32(math.NaN()), HitT: -1, Name: 7, StateFit: -2, IdleTicks: never}, 60, model.Features{model.FeatName: 1}},
		{"infinite distance", model.Candidate{Gaze: float32(math.Inf(1)), HitT: float32(math.Inf(1)), IdleTicks: never}, 60, model.Features{1, 0}},
	}
	for _, c := range cases {
		got := c.c.Features(c.hz)
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-6 {
				t.Errorf("%s: feature %s = %v, want %v (all %v)", c.name, model.FeatureNames[i], got[i], c.want[i], got)
			}
		}
	}
}
