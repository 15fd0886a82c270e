package train

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/world"
)

// Options are `rayos train attention`'s.
type Options struct {
	// Synthetic, when > 0, generates a journal of that many utterances
	// (with Seed) instead of reading Journal.
	Synthetic int
	// Journal is the journal to train on; Labels its labels file (default
	// <journal>.labels.jsonl when it exists; without one, labels are
	// derived from what the user did: DeriveLabels).
	Journal, Labels string
	// KeepJournal, when set, is a folder that receives the synthetic
	// journal and its labels.
	KeepJournal string
	// Seed fixes the synthetic journal and the held-out split.
	Seed uint64
	// Heldout is the share of utterances evaluated on, not trained on.
	Heldout float64
	// Out receives the weights file.
	Out string
	// Command is recorded in the weights file's provenance.
	Command  string
	Settings Settings
	// Report receives the evaluation.
	Report io.Writer
	// Progress, when set, is told the stage and how far it is.
	Progress func(stage string, done, total int)
}

// Attention trains the attention model as Options say, writes the
// weights and prints the held-out evaluation.
func Attention(o Options) (*model.Model, Scores, error) {
	if o.Heldout <= 0 || o.Heldout >= 1 {
		return nil, Scores{}, fmt.Errorf("--heldout %v: want a share in (0, 1)", o.Heldout)
	}
	var j *world.Journal
	var labels map[uint64]string
	source := filepath.Base(o.Journal)
	if o.Synthetic > 0 {
		var jb, lb bytes.Buffer
		if err := Synthesize(o.Synthetic, o.Seed, &jb, &lb); err != nil {
			return nil, Scores{}, err
		}
		name := fmt.Sprintf("synthetic-%d-seed%d.jsonl", o.Synthetic, o.Seed)
		source = "synthetic:" + strconv.Itoa(o.Synthetic)
		if o.KeepJournal != "" {
			if err := os.MkdirAll(o.KeepJournal, 0o755); err != nil {
				return nil, Scores{}, err
			}
			if err := os.WriteFile(filepath.Join(o.KeepJournal, name), jb.Bytes(), 0o644); err != nil {
				return nil, Scores{}, err
			}
			if err := os.WriteFile(filepath.Join(o.KeepJournal, name[:len(name)-len(".jsonl")]+".labels.jsonl"), lb.Bytes(), 0o644); err != nil {
				return nil, Scores{}, err
			}
		}
		var err error
		if j, err = world.ReadJournal(&jb, name); err != nil {
			return nil, Scores{}, err
		}
		if labels, err = readLabelsFrom(name+" labels", lb.Bytes()); err != nil {
			return nil, Scores{}, err
		}
	} else {
		var err error
		if j, err = world.ReadJournalFile(o.Journal); err != nil {
			return nil, Scores{}, err
		}
		lpath := o.Labels
		if lpath == "" {
			if guess := trimJSONL(o.Journal) + ".labels.jsonl"; fileExists(guess) {
				lpath = guess
			}
		}
		if lpath != "" {
			if labels, err = ReadLabels(lpath); err != nil {
				return nil, Scores{}, err
			}
		}
	}
	total := int(j.LastTick())
	utts, err := Collect(j, nil, func(tick uint64) { // as `rayos replay` would
		if o.Progress != nil && tick%64 == 0 {
			o.Progress("replay", int(tick), total)
		}
	})
	if err != nil {
		return nil, Scores{}, err
	}
	if labels == nil {
		labels = DeriveLabels(j, utts)
	}
	examples, skipped := Examples(utts, labels, j.Header.Hz)
	if len(examples) < 2 {
		return nil, Scores{}, fmt.Errorf("%s: %d utterances weighed candidates, %d labelled: too few to train and evaluate on", source, len(utts), len(examples))
	}
	trainSet, test := Split(examples, o.Heldout, o.Seed)
	s := o.Settings
	if o.Progress != nil {
		s.Progress = func(epoch int) { o.Progress("fit", epoch, s.Epochs) }
	}
	m, err := Fit(trainSet, s)
	if err != nil {
		return nil, Scores{}, err
	}
	scores := Evaluate(m, test)
	m.Training = model.Provenance{
		Journal: source, Command: o.Command, Seed: int64(o.Seed), Epochs: s.Epochs,
		Examples: len(trainSet), Heldout: len(test),
		Accuracy: round3(scores.Model), Geometry: round3(scores.Geometry), Focus: round3(scores.Focus),
	}
	if o.Out != "" {
		if err := m.Save(o.Out); err != nil {
			return nil, Scores{}, err
		}
	}
	if o.Report != nil {
		fmt.Fprintf(o.Report, "attention: %s: %d utterances weighed candidates, %d labelled (%d skipped), trained on %d, held out %d\n",
			source, len(utts), len(examples), skipped, len(trainSet), len(test))
		fmt.Fprintf(o.Report, "weights:")
		for i, w := range m.Weights {
			fmt.Fprintf(o.Report, " %s=%.3f", model.FeatureNames[i], w)
		}
		fmt.Fprintf(o.Report, "\nheld-out target accuracy: model %.3f, geometry-only %.3f, focused %.3f (n=%d)\n",
			scores.Model, scores.Geometry, scores.Focus, scores.N)
		if o.Out != "" {
			fmt.Fprintf(o.Report, "wrote %s\n", o.Out)
		}
	}
	return m, scores, nil
}

// ReplayModel is the fixed, hand-set model a synthetic journal is replayed
// with (its header carries it, so Collect, `rayos replay` and `rayos view`
// all resolve as the story assumes): it weighs the cues the way a sensible resolver would —
// a name above all, then the state, gaze, recency — so that the recency
// feature, which follows the resolver's choices, is what a user of a
// working RayOS would see. Being fixed, it keeps the features independent
// of the weights being trained.
func ReplayModel() *model.Model {
	var m model.Model
	m.Weights = [model.NumFeatures]float32{3, 1, 1, 2, 6, 3}
	return &m
}

// round3 keeps three decimals, so the provenance does not carry float
// noise into the weights file.
func round3(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 3, 64), 64)
	return f
}

func trimJSONL(p string) string {
	if ext := filepath.Ext(p); ext == ".jsonl" {
		return p[:len(p)-len(ext)]
	}
	return p
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
