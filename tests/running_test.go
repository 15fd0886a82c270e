package tests

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// running is a `rayos boot` in the background whose markers (stdout) and
// diagnostics (stderr) are collected as they come.
type running struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr syncBuffer
	done   chan struct{} // closed when stdout reached EOF
	// lineC receives each stdout line as it is read (while it has room),
	// for a test that must act within milliseconds of a marker.
	lineC chan string
}

// syncBuffer is a bytes.Buffer safe to write from the process's stderr
// copier and read from the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRayos starts `rayos boot --data data --gpu cpu ARGS…` in dir and
// waits for it to be ready.
func startRayos(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	return startCommand(t, dir, bootCommand(args...))
}

// startCommand starts a command that runs rayos boot (possibly under a
// wrapper such as prlimit) and waits for it to be ready.
func startCommand(t *testing.T, dir string, cmd *exec.Cmd) *running {
	t.Helper()
	r := launch(t, dir, cmd)
	r.waitFor(t, "RAYOS_BOOT:ready:")
	return r
}

// spawnBoot starts `rayos boot --data data --gpu cpu ARGS…` in dir without
// waiting for anything.
func spawnBoot(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	return launch(t, dir, bootCommand(args...))
}

func bootCommand(args ...string) *exec.Cmd {
	return exec.Command(rayosBin, append([]string{"boot", "--data", "data", "--gpu", "cpu"}, args...)...)
}

// launch starts cmd in dir and collects its output; the test's cleanup
// kills it.
func launch(t *testing.T, dir string, cmd *exec.Cmd) *running {
	t.Helper()
	cmd.Dir = dir
	if cmd.Env == nil {
		cmd.Env = withoutRayosData()
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, done: make(chan struct{}), lineC: make(chan string, 64)}
	cmd.Stderr = &r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
			select {
			case r.lineC <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-r.done; cmd.Wait() })
	return r
}

func (r *running) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n") + "\n"
}

// runCeiling bounds every wait on a running rayos: a ceiling for a stuck
// run, not a timing assertion (a software-emulated guest on a loaded
// machine can take a while).
const runCeiling = 90 * time.Second

// waitFor waits for a stdout line starting with prefix.
func (r *running) waitFor(t *testing.T, prefix string) {
	t.Helper()
	has := func() bool {
		for _, l := range lines(r.output()) {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	deadline := time.After(runCeiling)
	for !has() {
		select {
		case <-r.done:
			if !has() {
				t.Fatalf("rayos exited before %q:\n%s\n%s", prefix, r.output(), r.stderr.String())
			}
		case <-deadline:
			t.Fatalf("no %q within %v:\n%s", prefix, runCeiling, r.output())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// awaitLine returns as soon as a stdout line starting with prefix is read
// (false if stdout ends first).
func (r *running) awaitLine(t *testing.T, prefix string) bool {
	t.Helper()
	deadline := time.After(runCeiling)
	for {
		select {
		case l := <-r.lineC:
			if strings.HasPrefix(l, prefix) {
				return true
			}
		case <-r.done:
			return false
		case <-deadline:
			t.Fatalf("no %q within %v", prefix, runCeiling)
		}
	}
}

// waitStderr waits for a line of the run's diagnostics holding every part.
func (r *running) waitStderr(t *testing.T, parts ...string) string {
	t.Helper()
	for deadline := time.Now().Add(runCeiling); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	lines:
		for _, l := range strings.Split(r.stderr.String(), "\n") {
			for _, p := range parts {
				if !strings.Contains(l, p) {
					continue lines
				}
			}
			return l
		}
	}
	t.Fatalf("no diagnostic with %q within %v:\n%s", parts, runCeiling, r.stderr.String())
	return ""
}

// count is how many markers start with prefix so far.
func (r *running) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// exit waits for the process to end and returns its exit status (-1 when
// killed by a signal).
func (r *running) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(runCeiling):
		t.Fatalf("rayos did not exit within %v:\n%s", runCeiling, r.output())
	}
	err := r.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// killNow kills the process with SIGKILL and reaps it.
func (r *running) killNow(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.exit(t)
}

// stop sends SIGTERM and expects a clean exit.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.exit(t); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, r.stderr.String())
	}
}

// terminate is stop with a tighter ceiling: 20 s catches a shutdown that
// waits on a client (the hardening report saw 60 s); not a timing
// assertion.
func (r *running) terminate(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("rayos still running 20 s after SIGTERM:\n%s", r.stderr.String())
	}
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, r.stderr.String())
	}
}
