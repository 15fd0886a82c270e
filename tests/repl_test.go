package tests

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyOutput collects what the REPL writes to its terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *ptyOutput) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *ptyOutput) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// waitFor waits until the terminal shows want after from; it returns
// where it ends.
func (p *ptyOutput) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	for deadline := time.Now().Add(runCeiling); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		s := p.String()
		if i := strings.Index(s[min(from, len(s)):], want); i >= 0 {
			return from + i + len(want)
		}
	}
	t.Fatalf("the terminal never showed %q; it shows:\n%s", want, p.String())
	return 0
}

// The REPL through a pseudo-terminal: tab completes pres to present, a
// line shows its intent and ACK, hostile lines get a clear answer and
// change nothing, confirm 999 is refused, Ctrl-D leaves with exit 0.
func TestReplThroughATerminal(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	cmd := exec.Command(rayosBin, "repl", "--data", "data", "--timeout", "20s")
	cmd.Dir, cmd.Env = dir, append(withoutRayosData(), "TERM=dumb")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out := &ptyOutput{}
	go io.Copy(out, tty)
	at := out.waitFor(t, 0, "rayos> ")

	// Tab completion: "pres" becomes "present ", then the target.
	io.WriteString(tty, "pres\t")
	at = out.waitFor(t, at, "present")
	io.WriteString(tty, "linux\r")
	at = out.waitFor(t, at, "intent  present linux")
	at = out.waitFor(t, at, "ok      present: presented")
	if res := rayos(t, dir, "ctl", "--data", "data", "status", "linux"); res.stdout != "RAYOS_HOST_ACK:status:ok:linux=presented\n" {
		t.Errorf("after present in the REPL: %q", res.stdout)
	}

	// Hostile lines: over-long, binary, control characters.
	io.WriteString(tty, strings.Repeat("a", 5000)+"\r")
	at = out.waitFor(t, at, "refused: the line is")
	// At a terminal control characters are editing keys (Ctrl-A, Ctrl-B);
	// binary bytes arrive as text and get a clear err answer.
	io.WriteString(tty, "\x01\x02\xff\xfe zz\r")
	at = out.waitFor(t, at, "err     say: ")
	// A confirmation that does not exist (or is another client's).
	io.WriteString(tty, "confirm 999\r")
	at = out.waitFor(t, at, "err     confirm: ")
	if res := rayos(t, dir, "ctl", "--data", "data", "status"); res.stdout != "RAYOS_HOST_ACK:status:ok:linux=presented windows=hidden\n" {
		t.Errorf("the hostile lines changed something: %q", res.stdout)
	}

	// Ctrl-D leaves, exit 0.
	io.WriteString(tty, "\x04")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("repl after Ctrl-D: %v\n%s", err, out)
		}
	case <-time.After(runCeiling):
		cmd.Process.Kill()
		t.Fatalf("repl still running after Ctrl-D:\n%s", out)
	}
	if _, err := os.Stat(dir + "/data/repl_history"); err != nil {
		t.Errorf("no history file: %v", err)
	}
	r.stop(t)
}
