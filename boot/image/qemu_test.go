package image

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// boot runs BootImage with a guard: a harness that hangs fails the test
// instead of hanging it.
func boot(t *testing.T, o BootOptions) (BootResult, error) {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	type result struct {
		res BootResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := BootImage(o)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(o.Timeout + 30*time.Second):
		t.Fatal("BootImage did not return")
		return BootResult{}, nil
	}
}

// TestBootHaltStatus: the status is the last halt marker's, a marker
// counts only at the start of a line, and a boot that started after the
// last halt and never halted is a machine that stopped without one.
func TestBootHaltStatus(t *testing.T) {
	img, fw, _ := fakeMachine(t, "print RAYOS_BOOT:start:entry=normal",
		"print RAYOS_BOOT:halt:status=3 action=reboot",
		"print RAYOS_BOOT:start:entry=normal",
		"print \x1b[0mRAYOS_BOOT:ready:tick=1",
		"print RAYOS_BOOT:halt:status=0 action=poweroff",
		"exit 0")
	var out bytes.Buffer
	res, err := boot(t, BootOptions{Image: img, Firmware: fw, Stdout: &out})
	if err != nil || res.Status != 0 || res.Action != "poweroff" || res.Boots != 2 || res.Ready != 1 {
		t.Errorf("res %+v err %v; want the last halt's status 0, 2 boots, 1 ready", res, err)
	}
	if !strings.Contains(out.String(), "RAYOS_BOOT:halt:status=3 action=reboot\n") {
		t.Errorf("stdout %q lacks the console", out.String())
	}
	if log, _ := os.ReadFile(img + ".log"); !bytes.Equal(log, out.Bytes()) {
		t.Errorf("the log %q differs from stdout %q", log, out.String())
	}

	img, fw, _ = fakeMachine(t, "print RAYOS_BOOT:start:entry=normal",
		"print RAYOS_BOOT:halt:status=0 action=poweroff",
		"print RAYOS_BOOT:start:entry=normal",
		"print guest says RAYOS_BOOT:halt:status=0 action=poweroff",
		"exit 0")
	res, err = boot(t, BootOptions{Image: img, Firmware: fw})
	if err == nil || !strings.Contains(err.Error(), "without RayOS's halt marker") {
		t.Errorf("a second boot without a halt (and a marker mid-line): res %+v err %v", res, err)
	}
}

// TestBootLongLine: a console line longer than any buffer is passed on
// whole, and the console keeps being read after it (a reader that gave up
// would leave QEMU blocked on a full pipe, the machine frozen).
func TestBootLongLine(t *testing.T) {
	img, fw, _ := fakeMachine(t, "print RAYOS_BOOT:start:entry=normal", "long 3000000",
		"print RAYOS_BOOT:halt:status=0 action=poweroff", "exit 0")
	var out bytes.Buffer
	res, err := boot(t, BootOptions{Image: img, Firmware: fw, Stdout: &out})
	if err != nil || res.Status != 0 || res.TimedOut {
		t.Fatalf("res %+v err %v; want the halt after the long line read", res, err)
	}
	if !strings.Contains(out.String(), "\n"+strings.Repeat("x", 3000000)+"\nRAYOS_BOOT:halt") {
		t.Error("the long line was not passed on whole")
	}
}

// TestBootStdoutGone: stdout closed under the harness (`| head -1`) is an
// orderly shutdown — the power button — not a dead harness or a machine
// left running unseen; the console goes on into the log.
func TestBootStdoutGone(t *testing.T) {
	img, fw, _ := fakeMachine(t, "print RAYOS_BOOT:start:entry=normal", "print RAYOS_BOOT:ready:tick=1", "wait")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	res, err := boot(t, BootOptions{Image: img, Firmware: fw, Stdout: w, Timeout: 20 * time.Second})
	if err != nil || res.Status != 0 || res.TimedOut {
		t.Fatalf("res %+v err %v; want a power-button shutdown (status 0)", res, err)
	}
	log, _ := os.ReadFile(img + ".log")
	if !strings.Contains(string(log), "RAYOS_BOOT:ready:tick=1\n") || !strings.Contains(string(log), "RAYOS_BOOT:halt:status=0") {
		t.Errorf("log %q: want the whole console", log)
	}
}

// TestBootEarlyPowerButton: a power button pressed before RayOS listens
// (the firmware, the kernel) is lost; the harness presses it again when
// RayOS is ready, so a Ctrl+C or a closed stdout early in the boot still
// ends in an orderly shutdown.
func TestBootEarlyPowerButton(t *testing.T) {
	img, fw, _ := fakeMachine(t, "print BdsDxe: loading Boot0001", "sleep 300ms", "print RAYOS_BOOT:start:entry=normal",
		"drop", "print RAYOS_BOOT:ready:tick=1", "wait")
	press := make(chan os.Signal, 1)
	press <- os.Interrupt
	res, err := boot(t, BootOptions{Image: img, Firmware: fw, Interrupt: press, Timeout: 20 * time.Second})
	if err != nil || res.Status != 0 || res.Ready != 1 {
		t.Errorf("res %+v err %v; want the button pressed again at ready, status 0", res, err)
	}
}

// TestBootKilledHarness: a harness killed with SIGKILL takes its QEMU
// with it (no machine left running with nobody to stop it).
func TestBootKilledHarness(t *testing.T) {
	img, _, script := fakeMachine(t, "print RAYOS_BOOT:start:entry=normal", "wait")
	self, _ := os.Executable()
	h := exec.Command(self)
	h.Env = append(os.Environ(), "RAYOS_TEST_HARNESS="+img)
	h.Env = slicesDelete(h.Env, "RAYOS_FAKE_QEMU=")
	h.Env = append(h.Env, "RAYOS_FAKE_QEMU="+script)
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	pid := fakePid(t, script)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	h.Process.Kill()
	h.Wait()
	for deadline := time.Now().Add(10 * time.Second); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Error("QEMU outlived its harness, killed with SIGKILL")
	}
}

// TestBootTerminalCtrlC: Ctrl+C at a terminal is SIGINT to the whole
// foreground process group. QEMU must not get it (it would quit at once,
// a power cut): the harness alone presses the power button, and the
// machine shuts down in order.
func TestBootTerminalCtrlC(t *testing.T) {
	img, _, script := fakeMachine(t, "print RAYOS_BOOT:start:entry=normal", "print RAYOS_BOOT:ready:tick=1", "wait")
	self, _ := os.Executable()
	h := exec.Command(self)
	h.Env = append(slicesDelete(os.Environ(), "RAYOS_FAKE_QEMU="), "RAYOS_TEST_HARNESS="+img, "RAYOS_FAKE_QEMU="+script)
	h.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a shell's job
	var stderr bytes.Buffer
	h.Stderr = &stderr
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Process.Kill()
	pid := fakePid(t, script)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(img + ".log"); strings.Contains(string(b), "ready") {
			break
		}
	}
	syscall.Kill(-h.Process.Pid, syscall.SIGINT)
	err := h.Wait()
	log, _ := os.ReadFile(img + ".log")
	if err != nil || !strings.Contains(string(log), "reason=signal-power-button") {
		t.Errorf("Ctrl+C to the job: %v, stderr %q, log %q; want the power button and exit 0", err, stderr.String(), log)
	}
}

func slicesDelete(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// TestBootSameImageTwice: a second harness on an image in use is refused
// before it touches anything: the running machine's log is not truncated
// and its variable store not rewritten under it.
func TestBootSameImageTwice(t *testing.T) {
	img, fw, _ := fakeMachine(t, "print RAYOS_BOOT:start:entry=normal", "print RAYOS_BOOT:ready:tick=1", "wait")
	press := make(chan os.Signal, 1)
	first := make(chan error, 1)
	go func() {
		_, err := BootImage(BootOptions{Image: img, Firmware: fw, Interrupt: press, Timeout: 30 * time.Second})
		first <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(img + ".log"); strings.Contains(string(b), "ready") {
			break
		}
	}
	vars, _ := os.ReadFile(img + ".vars")
	_, err := boot(t, BootOptions{Image: img, Firmware: fw, Entry: "recovery"})
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), img) {
		t.Errorf("a second boot of the same image: %v; want a refusal naming it as in use", err)
	}
	if b, _ := os.ReadFile(img + ".log"); !strings.Contains(string(b), "ready") {
		t.Error("the second boot truncated the running machine's log")
	}
	if b, _ := os.ReadFile(img + ".vars"); !bytes.Equal(b, vars) {
		t.Error("the second boot rewrote the running machine's variable store")
	}
	press <- os.Interrupt
	if err := <-first; err != nil {
		t.Errorf("the first machine: %v", err)
	}
	// Once it is done, the image boots again.
	if _, err := boot(t, BootOptions{Image: img, Firmware: fw, Interrupt: closedInterrupt()}); err != nil {
		t.Errorf("booting again after the first ended: %v", err)
	}
}

// closedInterrupt presses the power button at once.
func closedInterrupt() <-chan os.Signal {
	c := make(chan os.Signal, 1)
	c <- os.Interrupt
	return c
}

// TestBootQMPPath: --qmp never deletes a file that is not a stale socket
// (QEMU unlinks whatever is at the path), never steals a live socket, and
// a path too long for a unix socket is said as such; a stale socket is
// replaced.
func TestBootQMPPath(t *testing.T) {
	img, fw, script := fakeMachine(t, "print RAYOS_BOOT:halt:status=0 action=poweroff", "exit 0")
	dir := filepath.Dir(img)
	doc := filepath.Join(dir, "notes.txt")
	os.WriteFile(doc, []byte("precious"), 0o644)
	live := filepath.Join(dir, "live.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	long := filepath.Join(dir, strings.Repeat("q", 120)+".sock")
	for _, c := range []struct{ path, want string }{
		{doc, "not a socket"},
		{img, "not a socket"},
		{live, "in use"},
		{long, "too long"},
		{filepath.Join(dir, "no-folder", "q.sock"), "no-folder"},
	} {
		_, err := boot(t, BootOptions{Image: img, Firmware: fw, QMP: c.path})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--qmp") {
			t.Errorf("--qmp %s: %v; want a refusal saying %q", c.path, err, c.want)
		}
	}
	if b, _ := os.ReadFile(doc); string(b) != "precious" {
		t.Error("--qmp deleted a regular file")
	}
	if _, err := os.Stat(script + ".pid"); err == nil {
		t.Error("QEMU was started for a refused --qmp")
	}
	// A stale socket (its server gone) is replaced.
	stale := filepath.Join(dir, "stale.sock")
	sl, _ := net.Listen("unix", stale)
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	if _, err := boot(t, BootOptions{Image: img, Firmware: fw, QMP: stale}); err != nil {
		t.Errorf("a stale --qmp socket: %v", err)
	}
}

// TestBootOddPaths: commas in a path are QEMU's option separator and a
// "name:" prefix its protocol syntax; an image called so boots that file
// and nothing else.
func TestBootOddPaths(t *testing.T) {
	img, fw, script := fakeMachine(t, "print RAYOS_BOOT:halt:status=0 action=poweroff", "exit 0")
	odd := filepath.Join(filepath.Dir(img), "nbd:a,snapshot=on,b.img")
	if err := os.Rename(img, odd); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Getwd()
	os.Chdir(filepath.Dir(odd))
	defer os.Chdir(old)
	if _, err := boot(t, BootOptions{Image: filepath.Base(odd), Firmware: fw}); err != nil {
		t.Fatalf("boot %s: %v", odd, err)
	}
	args, _ := os.ReadFile(script + ".args")
	var disk string
	for _, a := range strings.Split(string(args), "\n") {
		if strings.Contains(a, "id=disk0") {
			disk = a
		}
	}
	if got, _ := strings.CutPrefix(qemuOptValue(disk), "file="); got != odd {
		t.Errorf("-drive %q: QEMU reads the file as %q, want %q", disk, got, odd)
	}
}

// TestBootRefusalsTouchNothing: a boot refused for its --log, its --vars
// or its image changes no file and starts no QEMU; a device as --vars
// (endless) is refused without reading it.
func TestBootRefusalsTouchNothing(t *testing.T) {
	img, fw, script := fakeMachine(t, "exit 0")
	dir := filepath.Dir(img)
	for _, c := range []struct {
		o    BootOptions
		want string
	}{
		{BootOptions{Log: dir, Entry: "recovery"}, "--log"},
		{BootOptions{Log: filepath.Join(dir, "no-folder", "x.log"), Entry: "recovery"}, "no-folder"},
		{BootOptions{Vars: "/dev/zero", Entry: "recovery"}, "/dev/zero"},
	} {
		c.o.Image, c.o.Firmware = img, fw
		if _, err := boot(t, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want a refusal naming %q", c.o, err, c.want)
		}
	}
	if _, err := os.Stat(img + ".vars"); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused boot made a variable store")
	}
	// Not a disk image (no GPT): OVMF would wait at its boot menu forever.
	notDisk := filepath.Join(dir, "notes.img")
	os.WriteFile(notDisk, make([]byte, 1<<20), 0o644)
	if _, err := boot(t, BootOptions{Image: notDisk, Firmware: fw}); err == nil || !strings.Contains(err.Error(), "no GPT") {
		t.Errorf("a file of zeros as the image: %v", err)
	}
	if _, err := os.Stat(script + ".pid"); err == nil {
		t.Error("QEMU was started for a refused boot")
	}
}
