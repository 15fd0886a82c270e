package tests

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recoveryCeiling bounds every wait in the recovery tests: a ceiling for
// a stuck run (the defects these tests catch are hangs), not a timing
// assertion.
const recoveryCeiling = 60 * time.Second

// bootProc is a `rayos boot` running in the background whose stdout lines
// are collected as they come.
type bootProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr syncBuffer
	done   chan struct{} // closed when stdout reached EOF
	// lineC receives each stdout line as it is read (while it has room),
	// for a test that must act within milliseconds of a marker.
	lineC chan string
}

// spawnBoot starts `rayos boot --data data --gpu cpu ARGS…` in dir.
func spawnBoot(t *testing.T, dir string, args ...string) *bootProc {
	t.Helper()
	cmd := exec.Command(rayosBin, append([]string{"boot", "--data", "data", "--gpu", "cpu"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &bootProc{cmd: cmd, done: make(chan struct{}), lineC: make(chan string, 64)}
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.lineC <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done; cmd.Wait() })
	return p
}

func (p *bootProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n") + "\n"
}

// waitFor waits for a stdout line starting with prefix.
func (p *bootProc) waitFor(t *testing.T, prefix string) {
	t.Helper()
	has := func() bool {
		for _, l := range lines(p.output()) {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	deadline := time.After(recoveryCeiling)
	for !has() {
		select {
		case <-p.done:
			if !has() {
				t.Fatalf("rayos exited before %q:\n%s\n%s", prefix, p.output(), p.stderr.String())
			}
		case <-deadline:
			t.Fatalf("no %q within %v:\n%s", prefix, recoveryCeiling, p.output())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// awaitLine returns as soon as a stdout line starting with prefix is read
// (false if stdout ends first).
func (p *bootProc) awaitLine(t *testing.T, prefix string) bool {
	t.Helper()
	deadline := time.After(recoveryCeiling)
	for {
		select {
		case l := <-p.lineC:
			if strings.HasPrefix(l, prefix) {
				return true
			}
		case <-p.done:
			return false
		case <-deadline:
			t.Fatalf("no %q within %v", prefix, recoveryCeiling)
		}
	}
}

// exit waits for the process to end and returns its exit status (-1 when
// killed by a signal).
func (p *bootProc) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(recoveryCeiling):
		t.Fatalf("rayos did not exit within %v:\n%s", recoveryCeiling, p.output())
	}
	err := p.cmd.Wait()
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
func (p *bootProc) killNow(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.exit(t)
}

// waitForFile waits until the file at path contains want.
func waitForFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(recoveryCeiling)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && strings.Contains(string(data), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never contained %q within %v", path, want, recoveryCeiling)
}

// tempFiles lists RayOS temporary files (atomicfile's .rayos-tmp-*) under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".rayos-tmp-") {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// drain reads r to EOF in the background; the result arrives on the channel.
func drain(r io.Reader) <-chan string {
	c := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(r)
		c <- string(data)
	}()
	return c
}

func recoveryTimeout() <-chan time.Time { return time.After(recoveryCeiling) }
