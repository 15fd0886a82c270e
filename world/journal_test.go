package world_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func TestJournalRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	jw, err := world.NewJournalWriter(nopCloser{&buf}, world.JournalHeader{Seed: 9, Scene: "demo", Hz: 60})
	if err != nil {
		t.Fatal(err)
	}
	inputs := []components.Input{
		{Kind: components.InputGaze, Device: 1, Origin: components.Vec3{0, 1.6, 0}, Direction: components.Vec3{0, 0, -1}},
		{Kind: components.InputText, Text: "present linux"},
		{Kind: components.InputKey, Key: 30, Pressed: true},
		{Kind: components.InputPointer, Pointer: [2]float32{10, 20}, Buttons: 1},
		{Kind: components.InputSignal, Text: "SIGTERM"},
	}
	for i, in := range inputs {
		jw.Record(uint64(i+1), in)
	}
	if err := jw.Close(7); err != nil {
		t.Fatal(err)
	}
	j, err := world.ReadJournal(&buf, "mem")
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, buf.String())
	}
	if j.Header.Seed != 9 || j.Header.Scene != "demo" || j.End != 7 || j.LastTick() != 7 || len(j.Events) != len(inputs) {
		t.Fatalf("journal %+v", j)
	}
	for i, ev := range j.Events {
		got, err := ev.Input.ToInput()
		if err != nil {
			t.Fatal(err)
		}
		if got != inputs[i] || ev.Tick != uint64(i+1) {
			t.Errorf("event %d: got %+v at %d, want %+v", i, got, ev.Tick, inputs[i])
		}
	}
}

func TestJournalErrorsNameFileAndLine(t *testing.T) {
	header := `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}`
	cases := map[string]struct{ text, want string }{
		"empty":          {"", "empty journal"},
		"bad header":     {`{"format":"other"}`, "j.jsonl:1: header"},
		"future version": {`{"format":"rayos-journal","version":2,"seed":1,"scene":"demo","hz":60}`, "j.jsonl:1: header: version 2"},
		"bad hz":         {`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":0}`, "j.jsonl:1: header: hz"},
		"not json":       {header + "\n{\"tick\":1,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}\nnot json", "j.jsonl:3:"},
		"unknown field":  {header + "\n{\"tick\":1,\"input\":{\"kind\":\"text\",\"txt\":\"a\"}}", `j.jsonl:2: json: unknown field "txt"`},
		"unknown kind":   {header + "\n{\"tick\":1,\"input\":{\"kind\":\"smell\"}}", `j.jsonl:2: input: unknown kind "smell"`},
		"tick zero":      {header + "\n{\"tick\":0,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}", "j.jsonl:2: tick must be"},
		"backwards":      {header + "\n{\"tick\":5,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}\n{\"tick\":4,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}", "j.jsonl:3: tick 4 goes back"},
		"zero gaze":      {header + "\n{\"tick\":1,\"input\":{\"kind\":\"gaze\",\"origin\":[0,0,0],\"direction\":[0,0,0]}}", "j.jsonl:2: input: gaze direction has zero length"},
		"after end":      {header + "\n{\"end\":3}\n{\"tick\":4,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}", "j.jsonl:3: content after the end line"},
		"end too early":  {header + "\n{\"tick\":5,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}\n{\"end\":3}", "j.jsonl:3: end tick 3"},
		"two values":     {header + "\n{\"tick\":1,\"input\":{\"kind\":\"text\",\"text\":\"a\"}} {}", "j.jsonl:2: more than one JSON value"},
		"too long":       {header + "\n" + strings.Repeat("x", 2<<20), "j.jsonl:2: line longer than"},
		"tiny hz":        {`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":1e-300}`, "j.jsonl:1: header: hz 1e-300 out of range"},
		// 2^64−1 replayed for ever; one past the bound is refused too.
		"endless end":   {header + "\n{\"end\":18446744073709551615}", "j.jsonl:2: end tick 18446744073709551615 is beyond"},
		"end past max":  {header + "\n{\"end\":4294967297}", "j.jsonl:2: end tick 4294967297 is beyond"},
		"endless event": {header + "\n{\"tick\":18446744073709551615,\"input\":{\"kind\":\"text\",\"text\":\"a\"}}", "j.jsonl:2: tick 18446744073709551615 is beyond"},
	}
	for name, c := range cases {
		_, err := world.ReadJournal(strings.NewReader(c.text), "j.jsonl")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
	}
}

func TestReadJournalFileNamesAMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.jsonl")
	_, err := world.ReadJournalFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Error("reading a missing journal created it")
	}
}

func TestJournalWithoutEndRunsToTheLastEvent(t *testing.T) {
	text := `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}
{"tick":3,"input":{"kind":"text","text":"hide linux"}}
{"tick":8,"input":{"kind":"voice","text":"present"}}
`
	j, err := world.ReadJournal(strings.NewReader(text), "cut.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if j.End != 0 || j.LastTick() != 8 {
		t.Errorf("End %d LastTick %d", j.End, j.LastTick())
	}
}

func TestJournalTicksUpToTheBoundAreAccepted(t *testing.T) {
	text := fmt.Sprintf(`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}
{"tick":%d,"input":{"kind":"text","text":"hide linux"}}
{"end":%d}
`, uint64(world.MaxJournalTick), uint64(world.MaxJournalTick))
	j, err := world.ReadJournal(strings.NewReader(text), "long.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if j.LastTick() != world.MaxJournalTick {
		t.Errorf("LastTick %d, want %d", j.LastTick(), uint64(world.MaxJournalTick))
	}
}

func TestValidateHzBounds(t *testing.T) {
	for _, hz := range []float64{world.MinHz, 0.5, world.DefaultHz, world.MaxHz} {
		if err := world.ValidateHz(hz); err != nil {
			t.Errorf("hz %v refused: %v", hz, err)
		}
	}
	for _, hz := range []float64{0, -1, 1e-300, world.MinHz / 2, world.MaxHz + 1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := world.ValidateHz(hz); err == nil {
			t.Errorf("hz %v accepted", hz)
		}
	}
	// The slowest accepted rate still has a tick that fits a Duration
	// with room to spare: its clock holds millions of ticks (decades).
	w := world.New(world.Config{Hz: world.MinHz}, nil)
	if w.Clock.Dt != 1000*time.Second {
		t.Errorf("Dt at MinHz = %v, want 1000s", w.Clock.Dt)
	}
	if ticks := time.Duration(math.MaxInt64) / w.Clock.Dt; ticks < 1_000_000 {
		t.Errorf("a Duration holds only %d ticks at MinHz", ticks)
	}
}
