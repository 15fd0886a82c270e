package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := &model.Model{Weights: [model.NumFeatures]float32{1.5, -0.25, 3.1415927, 0, 1e-7, -999}}
	m.Training = model.Provenance{Journal: "j.jsonl", Seed: 4, Epochs: 10, Accuracy: 0.9}
	path := filepath.Join(t.TempDir(), "w.json")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *m {
		t.Fatalf("round trip: saved %+v, loaded %+v", *m, *got)
	}
	bad := &model.Model{Weights: [model.NumFeatures]float32{2000}}
	if err := bad.Save(path); err == nil || !strings.Contains(err.Error(), "gaze") {
		t.Fatalf("saving an out-of-bounds weight: %v, want an error naming gaze", err)
	}
	if again, _ := model.Load(path); *again != *m {
		t.Fatal("a refused save changed the file")
	}
}

func TestDefaultWeightsParse(t *testing.T) {
	if _, err := model.Parse("default-weights.json", model.DefaultWeights()); err != nil {
		t.Fatal(err)
	}
	a, b := model.Default(), model.Default()
	a.Weights[0] = 99
	if b.Weights[0] == 99 || model.Default().Weights[0] == 99 {
		t.Fatal("Default hands out shared weights")
	}
}

func TestLoadNamesFileAndField(t *testing.T) {
	good := string(model.DefaultWeights())
	cases := []struct{ name, text, want string }{
		{"wrong version", strings.Replace(good, `"version": 1`, `"version": 2`, 1), "version 2"},
		{"wrong format", strings.Replace(good, `rayos-attention-weights`, `other`, 1), "format"},
		{"wrong form", strings.Replace(good, `linear-softmax`, `mlp`, 1), "model"},
		{"missing version", strings.Replace(good, `"version": 1,`, ``, 1), "missing field version"},
		{"missing weights", `{"format":"rayos-attention-weights","version":1,"model":"linear-softmax","features":["gaze","near","dwell","recent","name","state"],"training":{}}`, "missing field weights"},
		{"missing training", `{"format":"rayos-attention-weights","version":1,"model":"linear-softmax","features":["gaze","near","dwell","recent","name","state"],"weights":[1,2,3,4,5,6]}`, "missing field training"},
		{"NaN weight", `{"format":"rayos-attention-weights","version":1,"model":"linear-softmax","features":["gaze","near","dwell","recent","name","state"],"weights":[1,2,NaN,4,5,6],"training":{}}`, "invalid character"},
		{"huge weight", `{"format":"rayos-attention-weights","version":1,"model":"linear-softmax","features":["gaze","near","dwell","recent","name","state"],"weights":[1,2,1e300,4,5,6],"training":{}}`, "weights[2] (dwell)"},
		{"null weight", `{"format":"rayos-attention-weights","version":1,"model":"linear-softmax","features":["gaze","near","dwell","recent","name","state"],"weights":[1,null,3,4,5,6],"training":{}}`, "weights[1] (near) is null"},
		{"short weights", `{"format":"rayos-attention-weights","version":1,"model":"linear-softmax","features":["gaze","near","dwell","recent","name","state"],"weights":[1],"training":{}}`, "weights: 1 values"},
		{"features reordered", strings.Replace(good, `"gaze",`, `"nope",`, 1), "features[0]"},
		{"unknown field", strings.Replace(good, `"version": 1,`, `"version": 1, "extra": 3,`, 1), "extra"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"empty", "", "truncated"},
		{"trailing data", good + "{}", "after the JSON object"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := model.Load(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s and %q", c.name, err, path, c.want)
		}
	}
	if _, err := model.Load(dir); err == nil {
		t.Error("loading a folder: no error")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(model.DefaultWeights())
	f.Add([]byte(`{"format":"rayos-attention-weights","version":1}`))
	f.Add([]byte(`{"weights":[1e999]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := model.Parse("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// What parses must save and parse back to the same model.
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("a parsed model does not marshal: %v", err)
		}
		again, err := model.Parse("again.json", out)
		if err != nil || *again != *m {
			t.Fatalf("round trip: %v, %+v vs %+v", err, again, m)
		}
	})
}
