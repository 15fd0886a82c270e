package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// promptJournal types at the keyboard of a bare RayOS (nothing focused,
// so the shell bar's prompt has the keys): "whta", two backspaces, "at is
// running?" with shift for the question mark, and Enter a tick later.
func promptJournal() string {
	var b strings.Builder
	b.WriteString(`{"format":"rayos-journal","version":1,"seed":5,"scene":"demo","hz":500}` + "\n")
	key := func(tick, code int, pressed bool) {
		p := ""
		if pressed {
			p = `,"pressed":true`
		}
		fmt.Fprintf(&b, `{"tick":%d,"input":{"kind":"key","device":1,"key":%d%s}}`+"\n", tick, code, p)
	}
	tap := func(tick, code int) { key(tick, code, true); key(tick, code, false) }
	us := map[rune]int{'w': 17, 'h': 35, 'a': 30, 't': 20, ' ': 57, 'i': 23, 's': 31, 'r': 19, 'u': 22, 'n': 49, 'g': 34}
	for _, c := range "whta" {
		tap(5, us[c])
	}
	tap(6, 14)
	tap(6, 14)
	for _, c := range "at is running" {
		tap(6, us[c])
	}
	key(6, 42, true)
	tap(6, 53) // shift+slash: ?
	key(6, 42, false)
	tap(8, 28)
	return b.String()
}

// The line typed at the prompt is answered like typed text, with the
// Enter key's place in the journal as its source; the journal holds only
// the keys (the line is made inside the world, never fed), and two runs
// and the replay of the recording give the same markers and world.
func TestPromptLineFromJournaledKeysReplays(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.jsonl"), []byte(promptJournal()), 0o644); err != nil {
		t.Fatal(err)
	}
	outA, snapA := recordJournal(t, dir, "keys.jsonl", "a", 20)
	outB, snapB := recordJournal(t, dir, "keys.jsonl", "b", 20)
	if fromWorld(outA) != fromWorld(outB) || snapA != snapB {
		t.Errorf("two runs of one journal differ:\n%s\n---\n%s", outA, outB)
	}
	rec, err := os.ReadFile(filepath.Join(dir, "a.rec"))
	if err != nil {
		t.Fatal(err)
	}
	// The Enter's sequence number is its place among the recorded inputs.
	enter, n := 0, 0
	for _, l := range strings.Split(string(rec), "\n") {
		if !strings.Contains(l, `"input":`) {
			continue
		}
		n++
		if strings.Contains(l, `"kind":"key"`) && strings.Contains(l, `"key":28,`) && strings.Contains(l, `"pressed":true`) {
			enter = n
		}
		if strings.Contains(l, `"kind":"text"`) && strings.Contains(l, "running") {
			t.Errorf("the submitted line was journaled as text: %s", l)
		}
	}
	if enter == 0 {
		t.Fatalf("no Enter in the recording:\n%s", rec)
	}
	// The runtime starts the registry's guests with text of its own
	// ("start linux"); the status question is the prompt's.
	intents := regexp.MustCompile(`(?m)^RAYOS_INTENT:\d+:status:.*$`).FindAllString(outA, -1)
	want := fmt.Sprintf("RAYOS_INTENT:%d:status:-:", enter)
	if len(intents) != 1 || !strings.HasPrefix(intents[0], want) {
		t.Fatalf("intent markers %q, want one starting %q\n%s", intents, want, outA)
	}
	replayMatches(t, dir, "a", outA, snapA)
	if !strings.Contains(snapA, `"said": "what is running?"`) {
		t.Errorf("the snapshot's prompt does not hold the line said")
	}
}
