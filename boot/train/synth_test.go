package train

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rayos/engine/world"
)

// TestSynthesizedJournalReplays checks that the story the generator tells
// is the one the world sees: every utterance is recorded with one
// candidate per guest, a hidden desktop never draws gaze, and when the
// story says the user looks at the target while speaking the tick sees
// the gaze on it.
func TestSynthesizedJournalReplays(t *testing.T) {
	const n = 80
	var j, l bytes.Buffer
	if err := Synthesize(n, 1, &j, &l); err != nil {
		t.Fatal(err)
	}
	journal, err := world.ReadJournal(bytes.NewReader(j.Bytes()), "synthetic.jsonl")
	if err != nil {
		t.Fatalf("the synthetic journal does not read back: %v", err)
	}
	utts, err := Collect(journal, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[uint64]Label{}
	cases := map[string]int{}
	for line := range strings.SplitSeq(strings.TrimSpace(l.String()), "\n") {
		var lb Label
		if err := json.Unmarshal([]byte(line), &lb); err != nil {
			t.Fatal(err)
		}
		labels[lb.Seq] = lb
		cases[lb.Case]++
	}
	t.Logf("%d events, %d ticks, %d utterances recorded; cases %v", len(journal.Events), journal.LastTick(), len(utts), cases)
	if len(utts) != n || len(labels) != n {
		t.Fatalf("%d utterances recorded, %d labelled; want %d of each", len(utts), len(labels), n)
	}
	for _, c := range []string{"gaze", "return", "named", "recent"} {
		if cases[c] == 0 {
			t.Errorf("no %q utterance among %d", c, n)
		}
	}
	gazed := 0
	for _, u := range utts {
		lb, ok := labels[u.Source]
		if !ok {
			t.Fatalf("utterance %d %q has no label", u.Source, u.Text)
		}
		if len(u.Candidates) != len(SynthGuests) {
			t.Fatalf("utterance %d: %d candidates, want %d", u.Source, len(u.Candidates), len(SynthGuests))
		}
		for k, c := range u.Candidates {
			if strings.HasPrefix(u.Text, "hide") && c.StateFit == 0 && c.Gaze > 0 {
				t.Errorf("utterance %d %q: %s is hidden yet gazed at (%+v)", u.Source, u.Text, u.Names[k], c)
			}
			if u.Names[k] == lb.Target && (lb.Case == "gaze" || lb.Case == "return") {
				if strings.HasPrefix(u.Text, "hide") && c.StateFit != 1 {
					t.Errorf("utterance %d %q: the target %s is not presented in the world (%+v)", u.Source, u.Text, lb.Target, c)
				}
				if c.Gaze > 0 {
					gazed++
				}
			}
		}
	}
	looked := cases["gaze"] + cases["return"]
	// A stray last sample may miss the desktop; most must not.
	if gazed*10 < looked*8 {
		t.Fatalf("the target drew gaze in %d of %d utterances spoken while looking at it", gazed, looked)
	}
}
