package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
)

// randomFeatures draws n feature vectors in [0,1].
func randomFeatures(r *rand.Rand, n int) []model.Features {
	feats := make([]model.Features, n)
	for i := range feats {
		for j := range feats[i] {
			feats[i][j] = r.Float32()
		}
	}
	return feats
}

func TestGorgoniaAndHandForwardAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	models := []*model.Model{model.Default(), model.Geometry()}
	for range 20 {
		var m model.Model
		for i := range m.Weights {
			m.Weights[i] = float32(r.NormFloat64() * 5)
		}
		models = append(models, &m)
	}
	worst := 0.0
	for mi, m := range models {
		for _, n := range []int{1, 2, 3, 7, 64} {
			feats := randomFeatures(r, n)
			f, err := NewForward(m, n)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, n)
			if err := f.Probabilities(feats, want); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got := make([]float32, n)
			m.Probabilities(feats, got)
			for i := range got {
				d := math.Abs(float64(got[i]) - float64(want[i]))
				worst = max(worst, d)
				if d > 1e-6 {
					t.Fatalf("model %d, %d candidates: candidate %d: hand %v, gorgonia %v", mi, n, i, got[i], want[i])
				}
			}
		}
	}
	t.Logf("largest difference hand vs gorgonia: %.3g", worst)
}

// planted makes examples whose target is the candidate with the highest
// score under hidden weights plus noise.
func planted(r *rand.Rand, n int, hidden model.Features) []Example {
	var out []Example
	for range n {
		k := 2 + r.IntN(3)
		feats := randomFeatures(r, k)
		best, bestS := 0, math.Inf(-1)
		for j, f := range feats {
			s := r.NormFloat64() * 0.3
			for i := range f {
				s += float64(hidden[i] * f[i])
			}
			if s > bestS {
				best, bestS = j, s
			}
		}
		out = append(out, Example{Feats: feats, Target: best, Focused: -1})
	}
	return out
}

func TestFitRecoversAPlantedPreference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	hidden := model.Features{1, 0, 0, 0, 4, -2}
	train, test := Split(planted(r, 600, hidden), 0.2, 7)
	m, err := Fit(train, DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	s := Evaluate(m, test)
	t.Logf("weights %v; held-out accuracy %.3f, geometry %.3f (n=%d)", m.Weights, s.Model, s.Geometry, s.N)
	if m.Weights[model.FeatName] <= m.Weights[model.FeatGaze] || m.Weights[model.FeatState] >= 0 {
		t.Fatalf("weights %v do not rank the planted preference (name ≫ gaze > 0 > state)", m.Weights)
	}
	if s.Model <= s.Geometry+0.2 {
		t.Fatalf("held-out accuracy %.3f is not well above the geometry baseline's %.3f", s.Model, s.Geometry)
	}
	again, err := Fit(train, DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	if again.Weights != m.Weights {
		t.Fatalf("same examples, different weights: %v then %v", m.Weights, again.Weights)
	}
}

func TestFitRefusesBadExamples(t *testing.T) {
	if _, err := Fit(nil, DefaultSettings); err == nil {
		t.Fatal("no examples: no error")
	}
	bad := []Example{{Source: 9, Feats: make([]model.Features, 2), Target: 2}}
	if _, err := Fit(bad, DefaultSettings); err == nil || !strings.Contains(err.Error(), "input 9") {
		t.Fatalf("target out of range: error %v, want one naming input 9", err)
	}
	if _, err := Fit(planted(rand.New(rand.NewPCG(1, 1)), 3, model.Features{}), Settings{Epochs: 0, LearnRate: 1}); err == nil {
		t.Fatal("zero epochs: no error")
	}
}
