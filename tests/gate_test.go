package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// journalStep is one line of a test journal: an input before a tick.
type journalStep struct {
	tick int
	kind string
	dev  int
	text string
}

// runJournal feeds steps to `rayos boot --gpu cpu --hz 1000 --ticks N` in
// a fresh data folder and returns the markers from the world on. It also
// checks that the run replays to the same markers.
func runJournal(t *testing.T, ticks int, steps ...journalStep) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"format": "rayos-journal", "version": 1, "seed": 1, "scene": "demo", "hz": 100}` + "\n")
	for _, s := range steps {
		in := map[string]any{"kind": s.kind, "text": s.text}
		if s.dev != 0 {
			in["device"] = s.dev
		}
		line, err := json.Marshal(map[string]any{"tick": s.tick, "input": in})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "boot", "--data", "data", "--gpu", "cpu", "--hz", "1000", "--ticks", fmt.Sprint(ticks), "--journal", "in.jsonl", "--record", "run.rec")
	if r.code != 0 {
		t.Fatalf("boot: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := rayos(t, dir, "replay", "run.rec", "--gpu", "cpu")
	if got, want := fromWorld(rep.stdout), fromWorld(r.stdout); rep.code != 0 || got != want {
		t.Errorf("replay (exit %d) differs:\n%s\n---\n%s", rep.code, got, want)
	}
	return fromWorld(r.stdout)
}

// inOrder fails unless each want appears in markers after the previous.
func inOrder(t *testing.T, markers string, wants ...string) {
	t.Helper()
	at := 0
	for _, w := range wants {
		i := strings.Index(markers[at:], w)
		if i < 0 {
			t.Errorf("markers lack %q after position %d:\n%s", w, at, markers)
			return
		}
		at += i + len(w)
	}
}

func host(tick, dev int, text string) journalStep { return journalStep{tick, "host", dev, text} }

// The hardening report's journal: "hide linux" and "type linux secret" in
// the same tick. The type was delivered before the hide (finished
// envelopes were swap-removed, reordering storage). Requests take effect
// in the order received: the hide first, and the type, judged after it,
// finds the guest hidden.
func TestInputNeverReachesAGuestHiddenBeforeIt(t *testing.T) {
	out := runJournal(t, 10,
		host(2, 1, "present linux"),
		host(4, 2, "hide windows"), host(4, 3, "hide windows"),
		host(5, 4, "hide linux"), host(5, 5, "type linux secret"))
	if strings.Contains(out, "delivered") {
		t.Errorf("input reached a hidden guest:\n%s", out)
	}
	// Sources 1 and 2 are the autostart starts: the hide is 6, the type 7.
	// Judged after the hide, the type is denied by the gate itself.
	inOrder(t, out, "RAYOS_AUDIT:policy-allow:action=hide guest=linux confidence=1.00 source=6 rule=hide.always\n",
		"RAYOS_POLICY_VIOLATION:input.presented:action=type guest=linux confidence=1.00 source=7 argument=\"secret\"\n",
		"RAYOS_GUEST:linux:hidden\n", "RAYOS_HOST_ACK:hide:ok:hidden\n", "RAYOS_HOST_ACK:type:err:denied by policy rule input.presented\n")
}

// A confirmation used to bypass a reloaded policy: shutdown (asks for
// confirmation) → reload with shutdown = false → confirm → linux stopped.
// The reload cancels what it denies; the confirm finds nothing to allow.
// Same for a type that waits for confirmation when the reload empties
// inputs.
func TestAReloadCancelsConfirmationsItDenies(t *testing.T) {
	policy := strings.Join([]string{"version = 1",
		"[guests.linux]", "start = true", "present = true", "shutdown = true",
		`inputs = ["type"]`, `confirm = ["shutdown", "type"]`, ""}, "\n")
	out := runJournal(t, 12,
		journalStep{1, "policy", 0, policy},
		host(2, 1, "present linux"),
		host(3, 2, "shutdown linux"), host(3, 3, "type linux x"),
		journalStep{5, "policy", 0, strings.NewReplacer("shutdown = true", "shutdown = false", `inputs = ["type"]`, "inputs = []").Replace(policy)},
		host(6, 4, "confirm"), journalStep{6, "text", 0, "confirm"})
	inOrder(t, out,
		"RAYOS_AUDIT:policy-confirm:action=shutdown guest=linux",
		"RAYOS_AUDIT:policy-confirm:action=type guest=linux",
		"RAYOS_AUDIT:policy-reloaded:",
		"RAYOS_POLICY_VIOLATION:guests.linux.shutdown:action=shutdown guest=linux",
		"RAYOS_POLICY_VIOLATION:guests.linux.inputs:action=type guest=linux",
		"RAYOS_HOST_ACK:shutdown:err:cancelled, the reloaded policy denies it (rule guests.linux.shutdown)",
		"RAYOS_HOST_ACK:type:err:cancelled, the reloaded policy denies it (rule guests.linux.inputs)",
		"RAYOS_HOST_ACK:confirm:err:nothing of this client's is waiting for confirmation")
	if strings.Contains(out, "RAYOS_GUEST:linux:stopped") || strings.Contains(out, "delivered") {
		t.Errorf("a revoked action was carried out:\n%s", out)
	}
}

// A reload that no longer allows a presented guest to be presented hides
// it, and says why.
func TestAReloadHidesWhatItNoLongerAllowsOnScreen(t *testing.T) {
	policy := "version = 1\n[guests.linux]\nstart = true\npresent = true\ninputs = [\"type\"]\n"
	out := runJournal(t, 8,
		journalStep{1, "policy", 0, policy},
		host(2, 1, "present linux"),
		journalStep{4, "policy", 0, strings.Replace(policy, "present = true", "present = false", 1)},
		host(5, 2, "type linux x"))
	inOrder(t, out, "RAYOS_GUEST:linux:presented\n",
		"RAYOS_AUDIT:policy-revoked:guest=linux action=present rule=guests.linux.present\n",
		"RAYOS_GUEST:linux:hidden\n",
		"RAYOS_HOST_ACK:type:err:denied by policy rule input.presented\n")
}

// Simulated guests follow the same lifecycle as real ones: a stopped guest
// can be neither suspended nor resumed (resume used to start it although
// start = false), and a presented guest that is suspended says it left
// the screen.
func TestSimulatedGuestsFollowTheLifecycle(t *testing.T) {
	policy := "version = 1\n[guests.linux]\nstart = true\npresent = true\nresume = true\nshutdown = true\n[guests.windows]\nstart = true\nshutdown = true\nresume = true\n"
	out := runJournal(t, 12,
		journalStep{1, "policy", 0, policy},
		host(2, 1, "shutdown windows"), host(3, 2, "suspend windows"), host(4, 3, "resume windows"),
		host(5, 4, "present linux"), host(6, 5, "suspend linux"), host(7, 6, "resume linux"))
	inOrder(t, out, "RAYOS_GUEST:windows:stopped\n",
		"RAYOS_HOST_ACK:suspend:err:guest windows is stopped, not running\n",
		"RAYOS_HOST_ACK:resume:err:guest windows is stopped, not suspended (start it)\n",
		"RAYOS_GUEST:linux:presented\n",
		"RAYOS_AUDIT:unpresent:guest=linux because=suspended\n", "RAYOS_GUEST:linux:suspended\n",
		"RAYOS_GUEST:linux:hidden\n", "RAYOS_HOST_ACK:resume:ok:hidden\n")
	if strings.Count(out, "RAYOS_GUEST:windows:") != 3 { // defined at boot, hidden (autostart), then stopped
		t.Errorf("windows changed state after it stopped:\n%s", out)
	}
}
