package tests

import (
	"bufio"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// waitingCtl is a rayos ctl running in the background.
type waitingCtl struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	exit           chan int
}

func startCtl(t *testing.T, dir string, args ...string) *waitingCtl {
	t.Helper()
	c := &waitingCtl{exit: make(chan int, 1)}
	c.cmd = exec.Command(rayosBin, append([]string{"ctl", "--data", "data"}, args...)...)
	c.cmd.Dir = dir
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cmd.Process.Kill() })
	go func() {
		err := c.cmd.Wait()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			c.exit <- exit.ExitCode()
		case err != nil:
			c.exit <- -1
		default:
			c.exit <- 0
		}
	}()
	return c
}

var confirmHint = regexp.MustCompile(`confirm (\d+)' or '.* cancel (\d+)'`)

// confirmID waits for ctl to say its request waits for confirmation and
// returns the id it names.
func (c *waitingCtl) confirmID(t *testing.T, what string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		errs := c.stderr.String()
		if m := confirmHint.FindStringSubmatch(errs); m != nil {
			if !strings.Contains(errs, "rayos ctl: "+what+" waits for confirmation (rule ") || m[1] != m[2] {
				t.Errorf("confirmation hint %q", errs)
			}
			return m[1]
		}
	}
	t.Fatalf("ctl never said it waits for confirmation: stdout %q, stderr %q", c.stdout.String(), c.stderr.String())
	return ""
}

func (c *waitingCtl) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-c.exit:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("ctl still waiting: stdout %q, stderr %q", c.stdout.String(), c.stderr.String())
		return -1
	}
}

// shutdown asks for confirmation under the default policy: ctl says so with
// the request's id and keeps waiting; pending lists it; confirm or cancel
// from another shell resolves it, and --confirm confirms it in one go.
func TestCtlConfirmsCancelsAndListsPendingRequests(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}

	// Asked in one shell, confirmed from another.
	asking := startCtl(t, dir, "shutdown", "linux")
	id := asking.confirmID(t, "shutdown linux")
	if res := ctl("pending"); res.code != 0 || !strings.Contains(res.stdout, id+" shutdown linux") || !strings.Contains(res.stdout, "rule=guests.linux.confirm") {
		t.Errorf("pending: exit %d %q; want request %s listed", res.code, res.stdout, id)
	}
	if res := ctl("confirm"); res.code != 1 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:confirm:err:") {
		t.Errorf("confirm without an id from a client with nothing pending: exit %d %q; want an err ACK", res.code, res.stdout)
	}
	if res := ctl("confirm", id); res.code != 0 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:confirm:ok:") {
		t.Errorf("confirm %s: exit %d %q %q", id, res.code, res.stdout, res.stderr)
	}
	if code := asking.wait(t); code != 0 || !strings.HasPrefix(asking.stdout.String(), "RAYOS_HOST_ACK:shutdown:ok:") {
		t.Errorf("the confirmed shutdown: exit %d %q %q", code, asking.stdout.String(), asking.stderr.String())
	}

	// Asked, then cancelled.
	asking = startCtl(t, dir, "shutdown", "windows")
	id = asking.confirmID(t, "shutdown windows")
	if res := ctl("cancel", id); res.code != 0 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:cancel:ok:") {
		t.Errorf("cancel %s: exit %d %q %q", id, res.code, res.stdout, res.stderr)
	}
	if code := asking.wait(t); code != 1 || !strings.HasPrefix(asking.stdout.String(), "RAYOS_HOST_ACK:shutdown:err:") {
		t.Errorf("the cancelled shutdown: exit %d %q %q", code, asking.stdout.String(), asking.stderr.String())
	}
	if res := ctl("pending"); res.code != 0 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:pending:ok:none") {
		t.Errorf("pending after both were resolved: exit %d %q", res.code, res.stdout)
	}

	// Asked and confirmed on the same connection: the request's ACK comes
	// first, then the confirm's.
	res := ctl("--confirm", "shutdown", "windows")
	acks := lines(res.stdout)
	if res.code != 0 || len(acks) != 2 || !strings.HasPrefix(acks[0], "RAYOS_HOST_ACK:shutdown:ok:") || !strings.HasPrefix(acks[1], "RAYOS_HOST_ACK:confirm:ok:") {
		t.Errorf("ctl --confirm shutdown windows: exit %d, stdout %q; want the shutdown's ok ACK, then the confirm's", res.code, res.stdout)
	}
	if !strings.Contains(res.stderr, "shutdown windows waits for confirmation (rule guests.windows.confirm); confirming it (--confirm)") {
		t.Errorf("ctl --confirm stderr %q", res.stderr)
	}
	r.terminate(t)
	mustContain(t, "markers", r.output(), "RAYOS_AUDIT:policy-confirm:action=shutdown guest=linux", "RAYOS_AUDIT:policy-confirm:action=shutdown guest=windows")
}

// Requests pipelined on one connection take effect as if sent one by one:
// a type after a present is delivered, a status sees both, and a confirm
// right behind the request it answers finds it — even when they all reach
// the world in the same tick.
func TestPipelinedRequestsTakeEffectInSequence(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "20") // slow ticks: the whole batch lands in one
	r.waitFor(t, "RAYOS_GUEST:windows:hidden")
	c := dialControl(t, filepath.Join(dir, "data", "control.sock"))
	c.SetDeadline(time.Now().Add(runCeiling))
	fmt.Fprint(c, "present linux\ntype linux hello\nstatus\nshutdown windows\nconfirm\nstatus windows\n")
	want := []string{
		"RAYOS_HOST_ACK:present:ok:presented",
		"RAYOS_HOST_ACK:type:ok:delivered",
		"RAYOS_HOST_ACK:status:ok:linux=presented windows=hidden",
		"RAYOS_HOST_ACK:shutdown:ok:stopped",
		"RAYOS_HOST_ACK:confirm:ok:confirmed ",
		"RAYOS_HOST_ACK:status:ok:windows=stopped",
	}
	rd := bufio.NewReader(c)
	for i := 0; i < len(want); {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		if strings.HasPrefix(line, "RAYOS_AUDIT:policy-confirm:") {
			continue
		}
		if !strings.HasPrefix(line, want[i]) {
			t.Errorf("answer %d = %q, want %q…", i+1, strings.TrimSpace(line), want[i])
		}
		i++
	}
	r.stop(t)
}
