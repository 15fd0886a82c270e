package world_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
