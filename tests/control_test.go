package tests

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

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
