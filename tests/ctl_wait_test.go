package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rayos ctl wait: an already-true condition, a future one (a change made
// after wait started), readiness from a guest event, a marker, a timeout
// (exit 1, saying what was last seen) and bad conditions (exit 2).
func TestCtlWait(t *testing.T) {
	dir := t.TempDir()
	// linux signals readiness at tick 300 (3 s at 100 Hz).
	journal := `{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":100}
{"tick":300,"input":{"kind":"guest-event","text":"linux ready"}}
`
	if err := os.WriteFile(filepath.Join(dir, "j.jsonl"), []byte(journal), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRayos(t, dir, "--hz", "100", "--journal", "j.jsonl")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}

	if res := ctl("wait", "guest=linux:hidden"); res.code != 0 || res.stdout != "guest=linux:hidden met: status linux=hidden\n" {
		t.Errorf("already true: exit %d %q %q", res.code, res.stdout, res.stderr)
	}

	start := func(args ...string) (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(rayosBin, append([]string{"ctl", "--data", "data"}, args...)...)
		cmd.Dir, cmd.Env = dir, withoutRayosData()
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	// However the start of wait and the present interleave, wait sees it:
	// in the status it asks for, or in the stream it subscribed to first.
	waiting, out := start("wait", "guest=windows:presented", "--timeout", "60s")
	if res := ctl("present", "windows"); res.code != 0 {
		t.Fatalf("present windows: %d %s", res.code, res.stderr)
	}
	if err := waiting.Wait(); err != nil {
		t.Errorf("wait for a future condition: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "guest=windows:presented met: ") {
		t.Errorf("wait output %q", out)
	}

	// A marker condition waits for a marker emitted after wait began:
	// hide until wait has seen one.
	marked, out := start("wait", "marker=RAYOS_HOST_ACK:hide:ok", "--timeout", "60s")
	done := make(chan error, 1)
	go func() { done <- marked.Wait() }()
	for seen := false; !seen; {
		ctl("hide", "linux")
		select {
		case err := <-done:
			seen = true
			if err != nil || !strings.Contains(out.String(), "marker=RAYOS_HOST_ACK:hide:ok met: RAYOS_HOST_ACK:hide:ok:") {
				t.Errorf("wait marker=…: %v %q", err, out)
			}
		default:
		}
	}

	ready, out := start("wait", "guest=linux:ready", "--timeout", "60s")
	if err := ready.Wait(); err != nil || !strings.Contains(out.String(), "guest=linux:ready met: ") {
		t.Errorf("wait guest=linux:ready: %v %q", err, out)
	}
	if res := ctl("status", "linux"); res.stdout != "RAYOS_HOST_ACK:status:ok:linux=hidden,ready\n" {
		t.Errorf("status of a ready guest: %q", res.stdout)
	}

	res := ctl("wait", "guest=linux:stopped", "--timeout", "1s")
	if res.code != 1 || !strings.Contains(res.stderr, "timed out after 1s") || !strings.Contains(res.stderr, "last seen: status linux=hidden,ready") {
		t.Errorf("timeout: exit %d %q", res.code, res.stderr)
	}
	for _, bad := range []struct{ cond, says string }{
		{"guest=linux:sleeping", "want one of ready, defined, starting, hidden, presented"},
		{"pod=linux", "unknown kind \"pod\""},
		{"guest=linux", "want guest=ID:STATE"},
		{"marker=GUEST", "RAYOS_GUEST"},
		{"guest=nosuch:ready", "RayOS has no guest \"nosuch\" (it has: linux, windows)"},
	} {
		if res := ctl("wait", bad.cond, "--timeout", "5s"); res.code != 2 || !strings.Contains(res.stderr, bad.says) {
			t.Errorf("wait %s: exit %d %q, want 2 saying %q", bad.cond, res.code, res.stderr, bad.says)
		}
	}
	r.stop(t)
}

// --output json: one document that parses, says what the text says.
func TestOutputJSON(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	text := rayos(t, dir, "ctl", "--data", "data", "status")
	js := rayos(t, dir, "ctl", "--data", "data", "status", "-o", "json")
	var st struct {
		OK     bool   `json:"ok"`
		Ack    string `json:"ack"`
		Guests []struct {
			ID, State string
			Ready     bool
		} `json:"guests"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &st); err != nil || js.code != 0 {
		t.Fatalf("status -o json: %v exit %d %q", err, js.code, js.stdout)
	}
	var items []string
	for _, g := range st.Guests {
		items = append(items, g.ID+"="+g.State)
	}
	if !st.OK || st.Ack+"\n" != text.stdout || "RAYOS_HOST_ACK:status:ok:"+strings.Join(items, " ")+"\n" != text.stdout {
		t.Errorf("json %+v does not match the text %q", st, text.stdout)
	}
	if res := rayos(t, dir, "ctl", "--data", "data", "present", "linux", "-o", "json"); res.code != 2 {
		t.Errorf("present -o json: exit %d, want 2", res.code)
	}
	r.stop(t)

	list := rayos(t, dir, "guest", "list", "--data", "data", "-o", "json")
	var gl struct {
		Guests []struct {
			ID        string `json:"id"`
			OS        string `json:"os"`
			MemoryMiB int    `json:"memory_mib"`
		} `json:"guests"`
	}
	if err := json.Unmarshal([]byte(list.stdout), &gl); err != nil || len(gl.Guests) != 2 || gl.Guests[0].ID != "linux" || gl.Guests[0].MemoryMiB == 0 {
		t.Errorf("guest list -o json: %v %q", err, list.stdout)
	}
	textList := rayos(t, dir, "guest", "list", "--data", "data")
	for _, g := range gl.Guests {
		if !strings.Contains(textList.stdout, g.ID) || !strings.Contains(textList.stdout, g.OS) {
			t.Errorf("guest %s in json but not in the text %q", g.ID, textList.stdout)
		}
	}
	ex := rayos(t, dir, "policy", "explain", "--data", "data", "--guest", "linux", "--action", "present", "-o", "json")
	var e struct{ Verdict, Rule, Why string }
	exText := rayos(t, dir, "policy", "explain", "--data", "data", "--guest", "linux", "--action", "present")
	if err := json.Unmarshal([]byte(ex.stdout), &e); err != nil || exText.stdout != e.Verdict+": rule "+e.Rule+" — "+e.Why+"\n" {
		t.Errorf("policy explain -o json %q (%v) does not match the text %q", ex.stdout, err, exText.stdout)
	}
	if res := rayos(t, dir, "guest", "list", "--data", "data", "-o", "yaml"); res.code != 2 || !strings.Contains(res.stderr, "want text or json") {
		t.Errorf("-o yaml: exit %d %q", res.code, res.stderr)
	}
}
