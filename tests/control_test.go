package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// running is a rayos boot in the background whose markers (stdout) and
// diagnostics (stderr) are collected.
type running struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr syncBuffer
	done   chan struct{}
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

func startRayos(t *testing.T, dir string, args ...string) *running {
	t.Helper()
	return startCommand(t, dir, exec.Command(rayosBin, append([]string{"boot", "--data", "data", "--gpu", "cpu"}, args...)...))
}

// startCommand starts a command that runs rayos boot (possibly under a
// wrapper such as prlimit) and waits for it to be ready.
func startCommand(t *testing.T, dir string, cmd *exec.Cmd) *running {
	t.Helper()
	cmd.Dir = dir
	out, _ := cmd.StdoutPipe()
	r := &running{cmd: cmd, done: make(chan struct{})}
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
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r.waitFor(t, "RAYOS_BOOT:ready:")
	return r
}

func (r *running) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n") + "\n"
}

func (r *running) waitFor(t *testing.T, prefix string) {
	t.Helper()
	// A ceiling for a stuck run, not a timing assertion: a software-emulated
	// guest on a loaded machine can take a while.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range strings.Split(r.output(), "\n") {
			if strings.HasPrefix(l, prefix) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q within 90 s:\n%s", prefix, r.output())
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.done
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

func TestControlSocketDrivesGuestsThroughThePolicy(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "200")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}
	steps := []struct {
		args []string
		code int
		ack  string
	}{
		{[]string{"status"}, 0, "RAYOS_HOST_ACK:status:ok:linux=hidden windows=hidden"},
		{[]string{"type", "linux", "hello"}, 1, "RAYOS_HOST_ACK:type:err:denied by policy rule input.presented"},
		{[]string{"present", "linux"}, 0, "RAYOS_HOST_ACK:present:ok:presented"},
		{[]string{"type", "linux", "hello"}, 0, "RAYOS_HOST_ACK:type:ok:delivered"},
		{[]string{"press", "linux", "enter"}, 0, "RAYOS_HOST_ACK:press:ok:delivered"},
		{[]string{"hide", "linux"}, 0, "RAYOS_HOST_ACK:hide:ok:hidden"},
		{[]string{"click", "linux"}, 1, "RAYOS_HOST_ACK:click:err:denied by policy rule input.presented"},
		{[]string{"present", "mac"}, 1, `RAYOS_HOST_ACK:present:err:unknown vm "mac"`},
		{[]string{"fly", "linux"}, 1, "RAYOS_HOST_ACK:fly:err:unknown op"},
		{[]string{"mouse", "linux", "x", "y"}, 1, "RAYOS_HOST_ACK:mouse:err:mouse needs integer X and Y"},
	}
	for _, s := range steps {
		res := ctl(s.args...)
		if res.code != s.code || !strings.HasPrefix(res.stdout, s.ack) {
			t.Errorf("ctl %v: exit %d, %q; want %d, %q", s.args, res.code, res.stdout, s.code, s.ack)
		}
	}
	out := r.output()
	mustContain(t, "markers", out,
		"RAYOS_HOST_EVENT_V0:present:linux\n",
		"RAYOS_GUEST:linux:presented\n",
		"RAYOS_POLICY_VIOLATION:input.presented:action=type guest=linux",
		"RAYOS_AUDIT:type:guest=linux source=",
		"RAYOS_GUEST:linux:hidden\n")

	// Malformed, over-long, binary and empty lines, and many concurrent
	// clients: every line gets exactly one ACK and nothing crashes.
	sock := filepath.Join(dir, "data", "control.sock")
	const clients, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := net.Dial("unix", sock)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			lines := []string{strings.Repeat("x", 5000), "status\x01", ""}
			for i := 0; i < each; i++ {
				lines = append(lines, []string{"status", "present linux", "hide linux", "zap", "type linux"}[i%5])
			}
			wantAcks := len(lines) // the empty line is answered too
			for _, l := range lines {
				fmt.Fprintln(conn, l)
			}
			sc := bufio.NewScanner(conn)
			got := 0
			for got < wantAcks && sc.Scan() {
				if !strings.HasPrefix(sc.Text(), "RAYOS_HOST_ACK:") {
					errs <- fmt.Errorf("client %d: answer %q", c, sc.Text())
					return
				}
				got++
			}
			if got != wantAcks {
				errs <- fmt.Errorf("client %d: %d ACKs for %d requests", c, got, wantAcks)
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if res := ctl("status"); res.code != 0 {
		t.Errorf("status after the load: exit %d %q", res.code, res.stdout)
	}
	r.stop(t)
}
