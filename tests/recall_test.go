package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rayos/engine/world/marker"
)

// A recall said to a running RayOS asks its Volume off the tick: the ACK
// names the file and heading of the passages found, after the
// RAYOS_INTENT line with the sources. The recording holds the Volume's
// answer as an input, so its replay — with the Volume gone — gives the
// same markers.
func TestRecallFindsNotesAndReplaysWithoutTheVolume(t *testing.T) {
	dir := t.TempDir()
	bootMarkers(t, dir) // a data folder for the Volume
	knowledge(t, dir)
	if r := rayos(t, dir, "volume", "add", "--data", "data", "knowledge"); r.code != 0 {
		t.Fatalf("volume add: exit %d\n%s", r.code, r.stderr)
	}
	run := startRayos(t, dir, "--hz", "100", "--record", "run.rec")
	say := rayos(t, dir, "ctl", "--data", "data", "say", "find my notes about watering the tomatoes")
	if say.code != 0 {
		t.Fatalf("ctl say: exit %d\n%s%s", say.code, say.stdout, say.stderr)
	}
	t.Logf("rayos ctl say printed:\n%s%s", say.stdout, say.stderr)
	ack := lines(say.stdout)[len(lines(say.stdout))-1]
	m, err := marker.Parse(ack)
	if err != nil || m.Kind != marker.KindHostAck || m.Fields[0] != "recall" || m.Fields[1] != "ok" ||
		!strings.HasPrefix(m.Fields[2], "knowledge/garden.md › Garden > Tomatoes (") {
		t.Fatalf("ACK %q (%v), want recall ok naming knowledge/garden.md first\n%s", ack, err, say.stderr)
	}
	// A second recall, and one the Volume has nothing for, on the same run.
	second := rayos(t, dir, "ctl", "--data", "data", "say", "what do my notes say about the scheduler?")
	if !strings.Contains(second.stdout, "RAYOS_HOST_ACK:recall:ok:knowledge/kernel.md › Kernel notes > Scheduling (") {
		t.Errorf("second recall answered %q", second.stdout)
	}
	// The REPL shows the passages one a paragraph, with their sources.
	repl := exec.Command(rayosBin, "repl", "--data", "data")
	repl.Dir, repl.Env, repl.Stdin = dir, withoutRayosData(), strings.NewReader("find my notes about pruning roses\n")
	out, err := repl.CombinedOutput()
	if err != nil {
		t.Fatalf("repl: %v\n%s", err, out)
	}
	t.Logf("rayos repl printed:\n%s", out)
	for _, want := range []string{"intent  recall   confidence=0.", "        from knowledge/garden.md#Garden > Roses",
		"ok      recall: 3 passages", "        1. knowledge/garden.md › Garden > Roses (0.", "           ## Roses Prune the roses in late winter."} {
		if !strings.Contains(string(out), want+"") {
			t.Errorf("the REPL's answer lacks %q:\n%s", want, out)
		}
	}
	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := run.exit(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM\n%s", code, run.stderr.String())
	}
	recorded := run.output()
	var intents []string
	for _, l := range lines(recorded) {
		if strings.HasPrefix(l, "RAYOS_INTENT:") && strings.Contains(l, ":recall:") {
			intents = append(intents, l)
		}
	}
	if len(intents) != 3 || !strings.Contains(intents[0], ":recall:-:confidence=0.") ||
		!strings.Contains(intents[0], "sources=knowledge/garden.md#Garden > Tomatoes") {
		t.Errorf("intent markers %q", intents)
	}
	journal, _ := os.ReadFile(filepath.Join(dir, "run.rec"))
	if n := strings.Count(string(journal), `"kind":"retrieval"`); n != 3 {
		t.Errorf("%d retrieval inputs in the journal, want 3", n)
	}

	if err := os.RemoveAll(filepath.Join(dir, "data", "volume")); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "replay", "run.rec")
	if r.code != 0 {
		t.Fatalf("replay: exit %d\n%s", r.code, r.stderr)
	}
	if fromWorld(r.stdout) != fromWorld(recorded) {
		t.Errorf("the replay's markers differ from the run's:\n%s\n---\n%s", fromWorld(r.stdout), fromWorld(recorded))
	}
}

// Without a Volume a recall is answered at once, saying there is none;
// a recall with nothing to look for is answered with how to say one.
func TestRecallWithoutAVolume(t *testing.T) {
	dir := t.TempDir()
	startRayos(t, dir, "--hz", "100")
	r := rayos(t, dir, "ctl", "--data", "data", "say", "search for boot recovery")
	if r.code == 0 || !strings.Contains(r.stdout, "RAYOS_HOST_ACK:recall:err:no volume") {
		t.Errorf("recall without a Volume: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = rayos(t, dir, "ctl", "--data", "data", "say", "find my notes")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "recall needs what to look for") {
		t.Errorf("an empty recall: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
