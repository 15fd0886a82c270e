package train

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/world"
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

// TestKeptSyntheticJournalTrainsTheSame: a synthetic journal kept with
// KeepJournal and trained on as a journal gives the same weights (its
// header carries the replay model and its labels file sits beside it).
func TestKeptSyntheticJournalTrainsTheSame(t *testing.T) {
	dir := t.TempDir()
	synth, _, err := Attention(Options{Synthetic: 40, Seed: 2, Heldout: 0.2, KeepJournal: dir, Settings: DefaultSettings})
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := Attention(Options{Journal: filepath.Join(dir, "synthetic-40-seed2.jsonl"), Seed: 2, Heldout: 0.2, Settings: DefaultSettings})
	if err != nil {
		t.Fatal(err)
	}
	if kept.Weights != synth.Weights {
		t.Fatalf("kept journal trains %v, the synthetic run %v", kept.Weights, synth.Weights)
	}
}

// TestCollectRefusesBadHeaderWeights: a journal whose header carries
// weights that do not load is refused (as `rayos replay` refuses it),
// not replayed with other weights.
func TestCollectRefusesBadHeaderWeights(t *testing.T) {
	var j, l bytes.Buffer
	if err := Synthesize(2, 1, &j, &l); err != nil {
		t.Fatal(err)
	}
	journal, err := world.ReadJournal(bytes.NewReader(j.Bytes()), "s.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	journal.Header.Attention = `{"format":"rayos-attention-weights","version":9}`
	if _, err := Collect(journal, nil, nil); err == nil || !strings.Contains(err.Error(), "attention") {
		t.Fatalf("bad header weights: error %v, want one naming the attention weights", err)
	}
}
