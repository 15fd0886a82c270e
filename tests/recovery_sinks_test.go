package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rayos/engine/systems/intent/language"
)

// floodInputs is how many journal inputs the flood feeds: each is typing
// 2,000 characters into a hidden guest, denied with a marker that quotes
// them (~2.1 KB), so together about 2 MB: far more than a pipe (64 KiB)
// and the stdout buffer (1 MiB) hold.
const floodInputs = 3000

// writeFlood writes a journal of floodInputs such inputs, ten a tick.
func writeFlood(t *testing.T, path string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"format":"rayos-journal","version":1,"seed":1,"scene":"demo","hz":1000}` + "\n")
	for i := 0; i < floodInputs; i++ {
		// Each line is as long as an utterance may be (language.MaxUtterance):
		// its intent and its policy markers carry the text.
		fmt.Fprintf(&b, `{"tick":%d,"input":{"kind":"text","text":"type linux %s"}}`+"\n", 2+i/10, strings.Repeat("x", language.MaxUtterance-len("type linux ")))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkFlood fails the test if the flood did not produce enough marker
// bytes to fill the pipe and the stdout buffer (if the markers' wording
// changed): the test would prove nothing.
func checkFlood(t *testing.T, log string) {
	t.Helper()
	if n := len(readFile(t, log)); n < 64<<10+1<<20+256<<10 {
		t.Fatalf("the flood gave only %d bytes of markers: too few to fill stdout; make writeFlood's markers longer", n)
	}
}

// startUnread starts rayos boot with stdout and stderr on pipes that
// nobody reads yet; it returns the read ends.
func startUnread(t *testing.T, dir string, args ...string) (*exec.Cmd, *os.File, *os.File) {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rayosBin, append([]string{"boot", "--data", "data", "--gpu", "cpu"}, args...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, outW, errW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	errW.Close()
	t.Cleanup(func() { cmd.Process.Kill(); outR.Close(); errR.Close() })
	return cmd, outR, errR
}

// waitExit waits (with the recovery ceiling) for cmd and returns its exit
// status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-recoveryTimeout():
		t.Fatalf("rayos did not exit within %v", recoveryCeiling)
	}
	return -1
}

func TestAStdoutNobodyReadsNeitherFreezesTheWorldNorBlocksSIGTERM(t *testing.T) {
	dir := t.TempDir()
	writeFlood(t, filepath.Join(dir, "flood.jsonl"))
	log := filepath.Join(dir, "data", "logs", "markers.log")
	last := fmt.Sprintf("source=%d argument=", floodInputs)

	// Nobody ever reads stdout or stderr: the world still works through
	// the whole flood (markers.log has all of it) and SIGTERM ends it.
	cmd, _, _ := startUnread(t, dir, "--hz", "1000", "--journal", "flood.jsonl")
	waitForFile(t, log, last)
	checkFlood(t, log)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("exit %d after SIGTERM with stdout unread, want 0", code)
	}
	if !regexp.MustCompile(`RAYOS_BOOT:shutdown:reason=signal-SIGTERM tick=\d+\n$`).MatchString(readFile(t, log)) {
		t.Errorf("markers.log does not end with the SIGTERM shutdown:\n…%s", tail(readFile(t, log), 300))
	}

	// A reader that comes back late gets every line in order, except one
	// gap, reported by a marker where it is and by a stderr warning.
	os.Remove(log)
	cmd, out, errs := startUnread(t, dir, "--hz", "1000", "--journal", "flood.jsonl")
	waitForFile(t, log, last)
	stdout, stderr := drain(out), drain(errs)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	got, logged, warnings := lines(<-stdout), lines(readFile(t, log)), <-stderr
	gapRe := regexp.MustCompile(`^RAYOS_AUDIT:markers-dropped:sink=stdout count=(\d+)$`)
	gaps := 0
	for i, l := range got {
		m := gapRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		gaps++
		n, _ := strconv.Atoi(m[1])
		// Before the gap: the log's first i lines; after: the log from
		// i+n on. Nothing reordered, nothing else missing.
		if i+n > len(logged) || strings.Join(got[:i], "\n") != strings.Join(logged[:i], "\n") ||
			strings.Join(got[i+1:], "\n") != strings.Join(logged[i+n:], "\n") {
			t.Errorf("stdout around the gap of %d at line %d differs from markers.log", n, i+1)
		}
		if !strings.Contains(warnings, fmt.Sprintf("markers dropped from stdout\" count=%d", n)) {
			t.Errorf("stderr does not report the %d dropped markers", n)
		}
		t.Logf("stdout read late: %d lines, one gap of %d dropped markers; markers.log %d lines", len(got), n, len(logged))
	}
	if gaps != 1 {
		t.Errorf("%d gap markers in stdout, want 1 (stdout %d lines, log %d)", gaps, len(got), len(logged))
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

func TestMarkersLogIsRotatedBySize(t *testing.T) {
	dir := t.TempDir()
	boot(t, dir)
	logs := filepath.Join(dir, "data", "logs")
	// A log at its limit (8 MiB), and three older ones.
	full := strings.Repeat("RAYOS_AUDIT:old:"+strings.Repeat("x", 47)+"\n", 8<<20/64)
	os.WriteFile(filepath.Join(logs, "markers.log"), []byte(full), 0o640)
	for i := 1; i <= 3; i++ {
		os.WriteFile(filepath.Join(logs, "markers.log."+strconv.Itoa(i)), []byte(fmt.Sprintf("RAYOS_AUDIT:rotated:%d\n", i)), 0o640)
	}
	r := boot(t, dir)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := readFile(t, filepath.Join(logs, "markers.log")); got != r.stdout {
		t.Errorf("the new markers.log is not this boot's markers:\n%s", got)
	}
	if readFile(t, filepath.Join(logs, "markers.log.1")) != full {
		t.Error("markers.log.1 is not the full log")
	}
	for i, want := range map[int]string{2: "RAYOS_AUDIT:rotated:1\n", 3: "RAYOS_AUDIT:rotated:2\n"} {
		if got := readFile(t, filepath.Join(logs, "markers.log."+strconv.Itoa(i))); got != want {
			t.Errorf("markers.log.%d = %q, want %q", i, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(logs, "markers.log.4")); err == nil {
		t.Error("a fifth marker log was kept")
	}
}
