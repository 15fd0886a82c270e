package tests

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialControl connects to a RayOS's control socket, waiting for it to
// appear (it opens just after the ready marker).
func dialControl(t *testing.T, sock string) net.Conn {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("unix", sock)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("control socket %s: %v", sock, err)
		}
	}
}

// stallControl connects a client that shrinks its receive buffer, pipelines
// n status requests and never reads an answer.
func stallControl(t *testing.T, sock string, n int) net.Conn {
	t.Helper()
	c := dialControl(t, sock)
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	if err != nil {
		t.Fatal(err)
	}
	go c.Write([]byte(strings.Repeat("status\n", n))) // blocks once RayOS stops reading; ends when c closes
	return c
}

var shutdownTick = regexp.MustCompile(`^RAYOS_BOOT:shutdown:reason=signal-SIGTERM tick=(\d+)$`)

// A client that pipelines 20,000 requests and never reads does not slow the
// world: it keeps ticking at its rate, other clients get answers, the
// client is disconnected with a reason, and SIGTERM is prompt even with
// such a client connected.
func TestControlStalledClientKeepsTheWorldTicking(t *testing.T) {
	const hz = 100
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", strconv.Itoa(hz))
	readyAt := time.Now() // at or after the ready marker: the elapsed time below is not overstated
	sock := filepath.Join(dir, "data", "control.sock")
	stallControl(t, sock, 20000)

	ctlStatus := func(when string) {
		t.Helper()
		res := rayos(t, dir, "ctl", "--data", "data", "status")
		if res.code != 0 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:status:ok:") {
			t.Errorf("ctl status %s: exit %d, %q %q", when, res.code, res.stdout, res.stderr)
		}
	}
	for range 3 {
		ctlStatus("with a stalled client connected")
	}
	l := r.waitStderr(t, "control client disconnected", "fell behind")
	t.Logf("RayOS: %s", l)
	ctlStatus("after the stalled client was disconnected")

	// A second stalled client is still connected when SIGTERM comes. Wait
	// (setup, not a measurement) until its requests stop reaching the
	// world: its answers fill its socket and RayOS stops reading it.
	before := r.count("RAYOS_HOST_EVENT_V0:status:")
	stallControl(t, sock, 20000)
	settle := time.Now().Add(60 * time.Second) // a ceiling: past it, the assertion below tells
	for last, still := -1, 0; still < 3 && time.Now().Before(settle); time.Sleep(100 * time.Millisecond) {
		n := r.count("RAYOS_HOST_EVENT_V0:status:")
		if n == last && n > before {
			still++
		} else {
			still = 0
		}
		last = n
	}
	handled := r.count("RAYOS_HOST_EVENT_V0:status:") - before
	if handled >= 20000 {
		t.Errorf("the world handled all %d requests of a client that never reads", handled)
	}
	ctlStatus("with a second stalled client connected")

	termAt := time.Now()
	r.terminate(t)
	exited := time.Since(termAt)
	var ticks int
	for _, l := range lines(r.output()) {
		if m := shutdownTick.FindStringSubmatch(l); m != nil {
			ticks, _ = strconv.Atoi(m[1])
		}
	}
	elapsed := termAt.Sub(readyAt)
	want := 0.9 * hz * elapsed.Seconds()
	t.Logf("%d ticks in %.2f s between ready and SIGTERM (%.1f Hz, target %d Hz); the second stalled client had %d requests handled; exit %.2f s after SIGTERM",
		ticks, elapsed.Seconds(), float64(ticks)/elapsed.Seconds(), hz, handled, exited.Seconds())
	if float64(ticks) < want {
		t.Errorf("%d ticks in %.2f s at %d Hz: below 90 %% (%.0f) with a stalled client connected", ticks, elapsed.Seconds(), hz, want)
	}
}

// With file descriptors scarce (prlimit 256), 400 idle connections do not
// break the socket: clients over the cap (half the limit) are told so in
// one line, and once they leave, requests are served again.
func TestControlSurvivesDescriptorExhaustion(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed for this test: %v", err)
	}
	dir := t.TempDir()
	r := startCommand(t, dir, exec.Command(prlimit, "--nofile=256:256", "--", rayosBin, "boot", "--data", "data", "--gpu", "cpu", "--hz", "100"))
	sock := filepath.Join(dir, "data", "control.sock")
	const idle, limit = 400, 128
	conns := make([]net.Conn, idle)
	for i := range conns {
		conns[i] = dialControl(t, sock)
	}
	refusal := fmt.Sprintf("RAYOS_HOST_ACK:?:err:too many control clients (limit %d); try again later\n", limit)
	admitted, refused := 0, 0
	for i, c := range conns {
		c.SetDeadline(time.Now().Add(60 * time.Second))
		fmt.Fprintln(c, "status") // a refused client's write may fail; its refusal is still there to read
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case line == refusal:
			refused++
		case strings.HasPrefix(line, "RAYOS_HOST_ACK:status:ok:"):
			admitted++
		default:
			t.Fatalf("connection %d: %q, %v", i+1, line, err)
		}
	}
	if admitted != limit || refused != idle-limit {
		t.Errorf("%d admitted, %d refused; want %d and %d", admitted, refused, limit, idle-limit)
	}
	for _, c := range conns {
		c.Close()
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res := rayos(t, dir, "ctl", "--data", "data", "status")
		if res.code == 0 && strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:status:ok:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctl status after the idle clients left: exit %d %q %q\n%s", res.code, res.stdout, res.stderr, r.stderr.String())
		}
	}
	r.waitStderr(t, "too many clients", "limit=128")
	r.terminate(t)
}
