package model

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/rayos/engine/world/atomicfile"
)

// Format and Version identify a weights file.
const (
	Format  = "rayos-attention-weights"
	Version = 1
	// Form names the model's form in the file, so that a future form (a
	// hidden layer) is refused by an older reader rather than misread.
	Form = "linear-softmax"
)

// MaxFileSize bounds what Load reads: a weights file is under 1 KiB.
const MaxFileSize = 64 << 10

// MaxWeight bounds a weight's magnitude: larger ones come from a broken
// trainer or a hand edit and would make the softmax a hard argmax.
const MaxWeight = 1000

// file is the weights file's JSON. Pointers tell a missing field from a
// zero one.
type file struct {
	Format   *string     `json:"format"`
	Version  *int        `json:"version"`
	Model    *string     `json:"model"`
	Features []string    `json:"features"`
	Weights  []*float64  `json:"weights"`
	Training *Provenance `json:"training"`
}

//go:embed default-weights.json
var defaultWeights []byte

var defaultModel = func() Model {
	m, err := Parse("default-weights.json", defaultWeights)
	if err != nil {
		panic(err) // a test reads the same bytes, so this never ships
	}
	return *m
}()

// DefaultWeights returns the embedded default weights file's bytes.
func DefaultWeights() []byte { return bytes.Clone(defaultWeights) }

// Default returns the embedded default weights (a fresh copy each call).
func Default() *Model {
	m := defaultModel
	return &m
}

// Load reads a weights file. Errors name the file and the field.
func Load(path string) (*Model, error) {
	data, err := atomicfile.ReadRegular(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads a weights file's content; name is used in errors.
func Parse(name string, data []byte) (*Model, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: truncated (not a whole JSON object)", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the JSON object", name)
	}
	switch {
	case f.Format == nil:
		return nil, fmt.Errorf("%s: missing field format", name)
	case *f.Format != Format:
		return nil, fmt.Errorf("%s: format is %q, want %q", name, *f.Format, Format)
	case f.Version == nil:
		return nil, fmt.Errorf("%s: missing field version", name)
	case *f.Version != Version:
		return nil, fmt.Errorf("%s: version %d is not supported (this build reads version %d)", name, *f.Version, Version)
	case f.Model == nil:
		return nil, fmt.Errorf("%s: missing field model", name)
	case *f.Model != Form:
		return nil, fmt.Errorf("%s: model is %q, want %q", name, *f.Model, Form)
	case f.Features == nil:
		return nil, fmt.Errorf("%s: missing field features", name)
	case f.Weights == nil:
		return nil, fmt.Errorf("%s: missing field weights", name)
	case f.Training == nil:
		return nil, fmt.Errorf("%s: missing field training", name)
	}
	if len(f.Features) != NumFeatures {
		return nil, fmt.Errorf("%s: features: %d names, want %d %q", name, len(f.Features), NumFeatures, FeatureNames)
	}
	for i, n := range f.Features {
		if n != FeatureNames[i] {
			return nil, fmt.Errorf("%s: features[%d] is %q, want %q", name, i, n, FeatureNames[i])
		}
	}
	if len(f.Weights) != NumFeatures {
		return nil, fmt.Errorf("%s: weights: %d values, want %d", name, len(f.Weights), NumFeatures)
	}
	var m Model
	for i, w := range f.Weights {
		if w == nil {
			return nil, fmt.Errorf("%s: weights[%d] (%s) is null", name, i, FeatureNames[i])
		}
		if math.IsNaN(*w) || math.Abs(*w) > MaxWeight {
			return nil, fmt.Errorf("%s: weights[%d] (%s) is %v, want a number in [-%d, %d]", name, i, FeatureNames[i], *w, MaxWeight, MaxWeight)
		}
		m.Weights[i] = float32(*w)
	}
	m.Training = *f.Training
	return &m, nil
}

// Marshal returns the weights file for m: indented JSON, the weights as
// float32 written in the fewest digits that read back exactly.
func (m *Model) Marshal() ([]byte, error) {
	for i, w := range m.Weights {
		if w != w || math.Abs(float64(w)) > MaxWeight {
			return nil, fmt.Errorf("weights[%d] (%s) is %v, want a number in [-%d, %d]", i, FeatureNames[i], w, MaxWeight, MaxWeight)
		}
	}
	out := struct {
		Format   string               `json:"format"`
		Version  int                  `json:"version"`
		Model    string               `json:"model"`
		Features [NumFeatures]string  `json:"features"`
		Weights  [NumFeatures]float32 `json:"weights"`
		Training Provenance           `json:"training"`
	}{Format, Version, Form, FeatureNames, m.Weights, m.Training}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Save writes m's weights file to path crash-safely: a crash leaves the
// old file or the new one.
func (m *Model) Save(path string) error {
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data, 0o644)
}
