package train

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
)

// TestTrainedModelBeatsTheBaselines trains on a small synthetic journal,
// end to end (generate, replay through the pipeline, fit, evaluate), and
// checks that on the held-out utterances the model is right clearly more
// often than the geometry-only baseline and than choosing the focused
// guest, with weights whose signs say what the story means: every cue
// speaks for the guest it points at.
func TestTrainedModelBeatsTheBaselines(t *testing.T) {
	var report bytes.Buffer
	out := filepath.Join(t.TempDir(), "w.json")
	m, s, err := Attention(Options{
		Synthetic: 200, Seed: 3, Heldout: 0.25, Out: out,
		Settings: DefaultSettings, Report: &report,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(report.String()))
	t.Logf("held-out accuracy: model %.3f, geometry-only %.3f, focused %.3f (n=%d)", s.Model, s.Geometry, s.Focus, s.N)
	if s.N < 40 {
		t.Fatalf("only %d held-out utterances", s.N)
	}
	if s.Model < s.Geometry+0.25 || s.Model < s.Focus+0.25 {
		t.Fatalf("model %.3f does not clearly beat geometry %.3f and focus %.3f", s.Model, s.Geometry, s.Focus)
	}
	for _, f := range []int{model.FeatGaze, model.FeatDwell, model.FeatRecent, model.FeatName, model.FeatState} {
		if !(m.Weights[f] > 0) {
			t.Errorf("weight %s = %v, want > 0 (weights %v)", model.FeatureNames[f], m.Weights[f], m.Weights)
		}
	}
	back, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if back.Weights != m.Weights || back.Training.Accuracy != round3(s.Model) {
		t.Fatalf("the weights file holds %v (accuracy %v), trained %v (accuracy %.3f)", back.Weights, back.Training.Accuracy, m.Weights, s.Model)
	}
}
