package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/intent/model"
)

// Weights given with --attention are the ones targets are resolved with:
// a contrary model that prefers the guest named longest ago picks linux
// for "hide it", where the default one picks windows, named last. The run's journal carries
// the weights, so its replay resolves the same way without the file; a
// weights file that is not one is refused before anything boots.
func TestAttentionWeightsAtBootAndInReplay(t *testing.T) {
	dir := t.TempDir()
	m := model.Default()
	for i := range m.Weights {
		m.Weights[i] = 0
	}
	m.Weights[model.FeatRecent] = -20 // only recency counts, backwards
	if err := m.Save(filepath.Join(dir, "recent.json")); err != nil {
		t.Fatal(err)
	}
	// Both guests presented; windows was named last.
	journal := `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":1000}
{"tick":5,"input":{"kind":"text","text":"present linux"}}
{"tick":10,"input":{"kind":"text","text":"present windows"}}
{"tick":20,"input":{"kind":"voice","text":"hide it"}}
`
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(journal), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "boot", "--data", "d", "--hz", "1000", "--ticks", "40", "--journal", "in.jsonl",
		"--attention", "recent.json", "--record", "run.jsonl")
	if r.code != 0 {
		t.Fatalf("boot --attention: exit %d\n%s", r.code, r.stderr)
	}
	hide := intentLine(t, r.stdout, "hide")
	if !strings.Contains(hide, ":hide:linux:") {
		t.Errorf("with the contrary model, hide it should mean linux (named first): %s", hide)
	}
	def := rayos(t, dir, "boot", "--data", "d2", "--hz", "1000", "--ticks", "40", "--journal", "in.jsonl")
	if got := intentLine(t, def.stdout, "hide"); !strings.Contains(got, ":hide:windows:") {
		t.Errorf("with the default model, hide it should mean windows (named last): %s", got)
	}
	head, err := os.ReadFile(filepath.Join(dir, "run.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var header struct{ Attention string }
	if err := json.Unmarshal([]byte(lines(string(head))[0]), &header); err != nil || !strings.Contains(header.Attention, `"weights"`) {
		t.Fatalf("the journal's header does not carry the weights (%v): %s", err, lines(string(head))[0])
	}
	rp := rayos(t, dir, "replay", "run.jsonl")
	if rp.code != 0 {
		t.Fatalf("replay: exit %d\n%s", rp.code, rp.stderr)
	}
	if got := intentLine(t, rp.stdout, "hide"); got != hide {
		t.Errorf("the replay resolved hide it as %q, the run as %q", got, hide)
	}

	for name, content := range map[string]string{"empty.json": "", "garbage.json": "{not json", "nan.json": strings.Replace(string(mustRead(t, filepath.Join(dir, "recent.json"))), "20", "NaN", 1)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		r := rayos(t, dir, "boot", "--data", "bad", "--ticks", "1", "--attention", name)
		if r.code != 2 || !strings.Contains(r.stderr, name) {
			t.Errorf("--attention %s: exit %d, stderr %q: want 2 naming the file", name, r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
			t.Errorf("--attention %s: RAYOS_DATA was created before the bad weights were refused", name)
		}
	}
}

// intentLine is the RAYOS_INTENT marker of the utterance resolved to action.
func intentLine(t *testing.T, out, action string) string {
	t.Helper()
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "RAYOS_INTENT:") && strings.Contains(l, ":"+action+":") {
			return l
		}
	}
	t.Fatalf("no RAYOS_INTENT for %s in:\n%s", action, out)
	return ""
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
