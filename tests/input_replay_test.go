package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A journal with gaze, keyboard and pointer input: the keys reach the
// gazed-at guest as chords with their modifiers, the motion of one tick
// as one move, the click with its position; two runs and the replay of
// the recording give the same markers and the same world.
const inputJournal = `{"format":"rayos-journal","version":1,"seed":5,"scene":"demo","hz":500}
{"tick":3,"input":{"kind":"gaze","device":1,"origin":[0,1.6,0],"direction":[0,0,-1]}}
{"tick":4,"input":{"kind":"voice","text":"present linux"}}
{"tick":20,"input":{"kind":"key","device":1,"key":42,"pressed":true}}
{"tick":20,"input":{"kind":"key","device":1,"key":30,"pressed":true}}
{"tick":20,"input":{"kind":"key","device":1,"key":30}}
{"tick":20,"input":{"kind":"key","device":1,"key":42}}
{"tick":21,"input":{"kind":"pointer","device":2,"pointer":[600,300]}}
{"tick":21,"input":{"kind":"pointer","device":2,"pointer":[610,310]}}
{"tick":21,"input":{"kind":"pointer","device":2,"pointer":[620,320]}}
{"tick":22,"input":{"kind":"pointer","device":2,"pointer":[700,400],"buttons":1}}
{"tick":23,"input":{"kind":"pointer","device":2,"pointer":[700,400]}}
{"tick":25,"input":{"kind":"key","device":1,"key":28,"pressed":true}}
`

func TestGazeKeyboardAndPointerJournalReplays(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(inputJournal), 0o644); err != nil {
		t.Fatal(err)
	}
	outA, snapA := recordJournal(t, dir, "in.jsonl", "a", 60)
	outB, snapB := recordJournal(t, dir, "in.jsonl", "b", 60)
	if fromWorld(outA) != fromWorld(outB) || snapA != snapB {
		t.Errorf("two runs of one journal differ:\n%s\n---\n%s", outA, outB)
	}
	for _, want := range []string{
		`RAYOS_AUDIT:policy-allow:action=press guest=linux confidence=1.00 source=6 argument="leftshift+a"`,
		"RAYOS_AUDIT:press:guest=linux source=6 result=ok delivered",
		"RAYOS_AUDIT:mouse:guest=linux source=11 result=ok delivered", // the tick's last motion, once; the release where the click was sends none
		"RAYOS_AUDIT:click:guest=linux source=12 result=ok delivered",
		`argument="enter"`,
	} {
		if !strings.Contains(outA, want) {
			t.Errorf("no %q in the markers:\n%s", want, outA)
		}
	}
	if n := strings.Count(outA, "RAYOS_AUDIT:mouse:"); n != 1 {
		t.Errorf("%d moves for one tick's motion, want 1", n)
	}
	replayMatches(t, dir, "a", outA, snapA)
}

// recordJournal boots a world (seed 3, 500 Hz, the CPU backend) fed the
// journal for ticks ticks, recording it to name.rec, and returns the
// markers and the final snapshot (name.json), both in dir.
func recordJournal(t *testing.T, dir, journal, name string, ticks int) (stdout, snapshot string) {
	t.Helper()
	r := rayos(t, dir, "boot", "--data", name, "--seed", "3", "--hz", "500", "--ticks", fmt.Sprint(ticks), "--gpu", "cpu",
		"--journal", journal, "--record", name+".rec", "--snapshot", name+".json")
	if r.code != 0 {
		t.Fatalf("%s: exit %d\n%s", name, r.code, r.stderr)
	}
	snap, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return r.stdout, string(snap)
}

// replayMatches replays name.rec (recordJournal's recording) and checks
// that it gives the recorded run's markers, from the world on, and its
// final snapshot.
func replayMatches(t *testing.T, dir, name, stdout, snapshot string) {
	t.Helper()
	r := rayos(t, dir, "replay", name+".rec", "--snapshot", name+"-replayed.json")
	if r.code != 0 {
		t.Fatalf("replay: exit %d\n%s", r.code, r.stderr)
	}
	replayed, _ := os.ReadFile(filepath.Join(dir, name+"-replayed.json"))
	if string(replayed) != snapshot {
		t.Error("the replay's snapshot differs from the recorded run's")
	}
	if fromWorld(r.stdout) != fromWorld(stdout) {
		t.Errorf("replay markers differ:\n%s\n---\n%s", r.stdout, stdout)
	}
}
