package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An argument with a control character could smuggle a second request
// into the line (today `type linux $'x\npresent windows'` presented
// windows): ctl refuses it as bad usage and sends nothing.
func TestCtlRefusesControlCharacters(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	for _, arg := range []string{"x\npresent windows", "x\rpresent windows", "\x1b[2J", "tab\there"} {
		res := rayos(t, dir, "ctl", "--data", "data", "type", "linux", arg)
		if res.code != 2 || !strings.Contains(res.stderr, "argument 3 ") || !strings.Contains(res.stderr, "control character") {
			t.Errorf("ctl type linux %q: exit %d, stderr %q; want 2 naming argument 3", arg, res.code, res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("ctl type linux %q printed %q", arg, res.stdout)
		}
	}
	res := rayos(t, dir, "ctl", "--data", "data", "status")
	if res.code != 0 || !strings.Contains(res.stdout, "windows=hidden") {
		t.Errorf("status after the refused requests: exit %d %q", res.code, res.stdout)
	}
	r.terminate(t)
	for _, m := range []string{"RAYOS_HOST_EVENT_V0:present:windows", "RAYOS_GUEST:windows:presented", "RAYOS_HOST_EVENT_V0:type:"} {
		if strings.Contains(r.output(), m) {
			t.Errorf("a refused argument reached RayOS: %s in\n%s", m, r.output())
		}
	}
}

// --control naming something that is not a socket is bad usage: refused
// before anything is written, and left alone (it used to be deleted).
func TestControlPathThatIsNotASocketIsLeftAlone(t *testing.T) {
	cases := []struct {
		name, why string
		make      func(path string) error
		check     func(path string) error
	}{
		{"file", "is a regular file",
			func(p string) error { return os.WriteFile(p, []byte("precious"), 0o644) },
			func(p string) error {
				data, err := os.ReadFile(p)
				if err == nil && string(data) != "precious" {
					err = os.ErrInvalid
				}
				return err
			}},
		{"dir", "is a directory",
			func(p string) error { return os.Mkdir(p, 0o755) },
			func(p string) error {
				info, err := os.Stat(p)
				if err == nil && !info.IsDir() {
					err = os.ErrInvalid
				}
				return err
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "precious")
			if err := c.make(path); err != nil {
				t.Fatal(err)
			}
			res := rayos(t, dir, "boot", "--data", "data", "--gpu", "cpu", "--hz", "100", "--ticks", "20", "--control", path)
			if res.code != 2 || !strings.Contains(res.stderr, path) || !strings.Contains(res.stderr, c.why) {
				t.Errorf("boot --control %s: exit %d, stderr %q; want 2 naming the path and saying it %s", c.name, res.code, res.stderr, c.why)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Errorf("boot --control %s wrote RAYOS_DATA before refusing", c.name)
			}
			if err := c.check(path); err != nil {
				t.Errorf("%s after the boot: %v", path, err)
			}
		})
	}
}

// A journal fed into a live boot is not a control client: its requests
// use the same request ids as the socket's, but their ACKs must never
// reach a connected client (ctl used to print a journal's "hide" ACK for
// its own request, and lose its real answer).
func TestJournalRequestsAreNeverAnsweredOnTheSocket(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":100}` + "\n")
	for tick := 20; tick < 3000; tick++ { // ids 1 and 2 answered every tick
		for id := 1; id <= 2; id++ {
			fmt.Fprintf(&b, `{"tick":%d,"input":{"kind":"host","device":%d,"client":%d,"text":"hide windows"}}`+"\n", tick, id, id)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "j.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRayos(t, dir, "--hz", "100", "--journal", "j.jsonl")
	r.waitFor(t, "RAYOS_HOST_ACK:hide:")
	// The shutdown (socket request 1) waits for its confirmation (request
	// 2) across ticks in which the journal's requests 1 and 2 are answered.
	res := rayos(t, dir, "ctl", "--data", "data", "--confirm", "shutdown", "linux")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:shutdown:ok:stopped\nRAYOS_HOST_ACK:confirm:ok:confirmed ") {
		t.Errorf("ctl --confirm shutdown linux beside a journal: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	r.stop(t)
}

// --control naming a socket another program serves is refused before
// anything is written: it is bad usage, not a failed boot to count.
func TestControlAtALiveSocketIsBadUsage(t *testing.T) {
	dir := t.TempDir()
	first := startRayos(t, dir, "--hz", "100")
	other := t.TempDir()
	for range 4 { // more than MaxBootFailures: none of them counts
		res := rayos(t, other, "boot", "--data", "data", "--gpu", "cpu", "--ticks", "3", "--control", filepath.Join(dir, "data", "control.sock"))
		if res.code != 2 || !strings.Contains(res.stderr, "is serving it") {
			t.Fatalf("boot --control at a live socket: exit %d %q", res.code, res.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(other, "data")); err == nil {
		t.Error("a refused boot created its data folder")
	}
	first.stop(t)
}
