package world_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/rayos/engine/world"
)

// ReadJournal must never panic on any input, and every journal it accepts
// must survive being written back and read again unchanged.
func FuzzReadJournal(f *testing.F) {
	f.Add(`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}
{"tick":3,"input":{"kind":"gaze","origin":[0,1,0],"direction":[0,0,-1]}}
{"tick":4,"input":{"kind":"text","text":"present linux"}}
{"end":9}`)
	f.Add(`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":60}
{"tick":1,"input":{"kind":"pointer","pointer":[1,2]}}`)
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		j, err := world.ReadJournal(strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		jw, err := world.NewJournalWriter(nopCloser{&buf}, j.Header)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range j.Events {
			in, err := ev.Input.ToInput()
			if err != nil {
				t.Fatalf("accepted event does not convert: %v", err)
			}
			jw.Record(ev.Tick, in)
		}
		if err := jw.Close(j.LastTick()); err != nil {
			t.Fatal(err)
		}
		back, err := world.ReadJournal(&buf, "rewritten")
		if err != nil {
			t.Fatalf("rewritten journal rejected: %v\n%s", err, buf.String())
		}
		if len(back.Events) != len(j.Events) || !reflect.DeepEqual(back.Header, j.Header) {
			t.Fatalf("round trip changed the journal")
		}
	})
}
