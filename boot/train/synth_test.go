package train

import (
	"bytes"
	"testing"

	"github.com/rayos/engine/world"
)

func TestSynthesizedJournalReplays(t *testing.T) {
	var j, l bytes.Buffer
	if err := Synthesize(40, 1, &j, &l); err != nil {
		t.Fatal(err)
	}
	journal, err := world.ReadJournal(bytes.NewReader(j.Bytes()), "synthetic.jsonl")
	if err != nil {
		t.Fatalf("the synthetic journal does not read back: %v", err)
	}
	utts, err := Collect(journal, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events, %d ticks, %d utterances recorded", len(journal.Events), journal.LastTick(), len(utts))
	for i, u := range utts[:min(5, len(utts))] {
		t.Logf("%d: %+v", i, u)
	}
}
