package pid1

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCommandLine(t *testing.T) {
	for cmdline, want := range map[string]string{
		"console=ttyS0 rayos.data=LABEL=RAYOS_DATA quiet": "LABEL=RAYOS_DATA",
		"rayos.data=/dev/vda2":                            "/dev/vda2",
		"console=ttyS0":                                   DefaultDataSpec,
		"rayos.data= rayos.data=LABEL=X":                  "LABEL=X",
		"rayos.data=LABEL=A rayos.data=LABEL=B\n":         "LABEL=B",
		"rayos.database=1 xrayos.data=LABEL=Y":            DefaultDataSpec,
	} {
		if got := dataSpec(cmdline); got != want {
			t.Errorf("dataSpec(%q) = %q, want %q", cmdline, got, want)
		}
	}
	if got := cmdlineValue("a rayos.debug-panic=before-ready b", "rayos.debug-panic"); got != "before-ready" {
		t.Errorf("cmdlineValue = %q", got)
	}
}

func TestActionFor(t *testing.T) {
	if ActionFor(0) != PowerOff || ActionFor(1) != Restart || ActionFor(137) != Restart || ActionFor(-1) != Restart {
		t.Error("a clean shutdown powers off; anything else restarts")
	}
}

// TestFindLabel finds a real ext4 file system (made by mke2fs on a file)
// by its label among block devices listed the way /sys/class/block does.
func TestFindLabel(t *testing.T) {
	_, sys, dev := fakeBlockTree(t)
	// vda: not a file system; vda1: ext4 labelled OTHER; vda2: RAYOS_DATA.
	os.WriteFile(filepath.Join(dev, "vda"), make([]byte, 4096), 0o644)
	for name, label := range map[string]string{"vda1": "OTHER", "vda2": "RAYOS_DATA"} {
		mkext4(t, filepath.Join(dev, name), label)
	}
	for _, n := range []string{"vda", "vda1", "vda2", "loop0"} { // loop0 has no node
		os.Mkdir(filepath.Join(sys, n), 0o755)
	}

	if got := findLabel("RAYOS_DATA"); len(got) != 1 || got[0] != filepath.Join(dev, "vda2") {
		t.Errorf("findLabel(RAYOS_DATA) = %q, want vda2", got)
	}
	if got := findLabel("NOPE"); len(got) != 0 {
		t.Errorf("findLabel(NOPE) = %q, want none", got)
	}
	if l, ok := ext4Label(filepath.Join(dev, "vda")); ok {
		t.Errorf("zeros read as ext4 labelled %q", l)
	}
	start := time.Now()
	_, _, err := findDevice("LABEL=NOPE", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "LABEL=NOPE") || !strings.Contains(err.Error(), "vda2") {
		t.Errorf("a label that never appears: %v (the error names it and the devices seen)", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Error("findDevice gave up before its timeout")
	}
	if _, _, err := findDevice("UUID=1234", time.Second); err == nil || !strings.Contains(err.Error(), "want LABEL=") {
		t.Errorf("an unsupported spec: %v", err)
	}
	// A /dev path: must be a device node, not a regular file.
	if _, _, err := findDevice(filepath.Join(dev, "vda2"), 200*time.Millisecond); err == nil {
		t.Error("a regular file accepted as the data device")
	}
}

// TestTail keeps the last lines and tells a Go runtime's death without a
// crash report from one the runtime reported itself.
func TestTail(t *testing.T) {
	tl := newTail(3)
	for _, l := range []string{"a", "RAYOS_BOOT:ready:tick=0", "goroutine 7 [running]:", "panic: boom"} {
		tl.add(l)
	}
	if got := strings.Join(tl.lines(), "|"); got != "RAYOS_BOOT:ready:tick=0|goroutine 7 [running]:|panic: boom" {
		t.Errorf("lines = %q", got)
	}
	if m := tl.markers(); len(m) != 1 || m[0] != "RAYOS_BOOT:ready:tick=0" {
		t.Errorf("markers = %q", m)
	}
	if !tl.crashedWithoutReport() {
		t.Error("a panic with no crash marker is not reported")
	}
	tl.add("RAYOS_BOOT:crash:crash/20261128T000000.000000000Z.txt")
	if tl.crashedWithoutReport() {
		t.Error("the runtime's own crash report is written again")
	}
	clean := newTail(5)
	clean.add("RAYOS_BOOT:shutdown:reason=signal-power-button tick=9")
	if clean.crashedWithoutReport() {
		t.Error("a clean shutdown reads as a crash")
	}
}

func TestExitStatus(t *testing.T) {
	for script, want := range map[string]int{"exit 0": 0, "exit 3": 3, "kill -9 $$": 128 + 9, "kill -TERM $$": 128 + 15} {
		cmd := exec.Command("sh", "-c", script)
		cmd.Run()
		ws := unix.WaitStatus(cmd.ProcessState.Sys().(syscall.WaitStatus))
		if got := exitStatus(ws); got != want {
			t.Errorf("%s → %d, want %d", script, got, want)
		}
	}
}

// TestSuperviseReapsOrphans runs supervise the way PID 1 does, over a
// "runtime" (a shell) that leaves orphans behind: this test process is
// made a child subreaper, so orphans come to it as they would to PID 1.
// supervise returns the runtime's status, copies its output to the
// console, and no child is left a zombie.
func TestSuperviseReapsOrphans(t *testing.T) {
	subreaper(t)
	console := consoleFile(t)
	// Three orphans (their parent subshells exit at once), dying while
	// the runtime still runs; then the runtime exits 3.
	script := "for i in 1 2 3; do (sleep 0.2 &); done; echo RAYOS_BOOT:ready:tick=0; sleep 1; exit 3"
	var logged []string
	status := supervise(console, func(f string, a ...any) { logged = append(logged, f) }, "/bin/sh", []string{"-c", script})
	if status != 3 {
		t.Fatalf("status %d, want the runtime's 3 (log %v)", status, logged)
	}
	out, _ := os.ReadFile(console.Name())
	if !strings.Contains(string(out), "RAYOS_BOOT:ready:tick=0\n") {
		t.Errorf("console = %q, want the runtime's output", out)
	}
	if z := zombies(t); len(z) > 0 {
		t.Errorf("zombie children left: %v", z)
	}

	// A runtime killed by a signal: status 128+9, and the crash is said
	// on the console (no data partition to write it to here).
	console = consoleFile(t)
	status = supervise(console, func(string, ...any) {}, "/bin/sh", []string{"-c", "echo started; kill -9 $$"})
	if status != 128+9 {
		t.Errorf("killed runtime: status %d, want 137", status)
	}
	out, _ = os.ReadFile(console.Name())
	if !strings.Contains(string(out), "crash: the runtime was killed by signal 9 (killed)") {
		t.Errorf("console after a killed runtime = %q, want the crash said", out)
	}
}

// zombies lists this process's children that are zombies.
func zombies(t *testing.T) []string {
	t.Helper()
	me := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 2 && f[0] == "Z" && f[1] == fmt.Sprint(me) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSuperviseLongLine: a runtime line longer than any buffer does not
// stop PID 1 copying the runtime's output (the runtime would block on its
// next write to a full pipe, the system frozen); the line reaches the
// console whole.
func TestSuperviseLongLine(t *testing.T) {
	subreaper(t)
	console := consoleFile(t)
	done := make(chan int, 1)
	go func() {
		done <- supervise(console, func(string, ...any) {}, "/bin/sh", []string{"-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo after; exit 0"})
	}()
	select {
	case status := <-done:
		if status != 0 {
			t.Errorf("status %d, want 0", status)
		}
	case <-time.After(time.Minute):
		t.Fatal("supervise hung: the runtime blocked writing after a long line")
	}
	out, _ := os.ReadFile(console.Name())
	if !strings.Contains(string(out), strings.Repeat("x", 3000000)+"\nafter\n") {
		t.Errorf("console (%d bytes): want the long line whole, then the next", len(out))
	}
}

// TestDataSpecRefusals: a rayos.data= that can never match is said at
// once, not after the 15 s wait: an empty label (which would take any
// unlabelled ext4, a guest's disk say) or one longer than ext4's 16 bytes.
// Two partitions with the label are both named, the first used.
func TestDataSpecRefusals(t *testing.T) {
	_, sys, dev := fakeBlockTree(t)
	for name, label := range map[string]string{"vda1": "", "vda2": "RAYOS_DATA", "vdb2": "RAYOS_DATA"} {
		mkext4(t, filepath.Join(dev, name), label)
		os.Mkdir(filepath.Join(sys, name), 0o755)
	}
	for _, spec := range []string{"LABEL=", "LABEL=" + strings.Repeat("L", 17)} {
		start := time.Now()
		d, others, err := findDevice(spec, 5*time.Second)
		if err == nil || !strings.Contains(err.Error(), spec) || time.Since(start) > 2*time.Second {
			t.Errorf("findDevice(%q) = %q %v, %v after %s; want an error at once", spec, d, others, err, time.Since(start))
		}
	}
	d, others, err := findDevice("LABEL=RAYOS_DATA", time.Second)
	if err != nil || d != filepath.Join(dev, "vda2") || len(others) != 1 || others[0] != filepath.Join(dev, "vdb2") {
		t.Errorf("two RAYOS_DATA: %q, others %q, %v; want vda2, vdb2 named", d, others, err)
	}
	// A device that is not ext4 is said as such when mounting it.
	os.WriteFile(filepath.Join(dev, "vdc"), make([]byte, 8192), 0o644)
	if err := mountData(filepath.Join(dev, "vdc")); err == nil || !strings.Contains(err.Error(), "no ext4 file system") {
		t.Errorf("mounting zeros: %v", err)
	}
}

// subreaper makes this test process a child subreaper for the test, so
// that orphans come to it as they would to PID 1.
func subreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// consoleFile is a fresh file standing in for /dev/console.
func consoleFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "console"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fakeBlockTree makes empty stand-ins for /sys/class/block and /dev and
// points sysBlock and devDir at them for the test; regular files stand in
// for device nodes.
func fakeBlockTree(t *testing.T) (dir, sys, dev string) {
	t.Helper()
	dir = t.TempDir()
	sys, dev = filepath.Join(dir, "sys"), filepath.Join(dir, "dev")
	os.MkdirAll(sys, 0o755)
	os.MkdirAll(dev, 0o755)
	oldSys, oldDev := sysBlock, devDir
	sysBlock, devDir = sys, dev
	t.Cleanup(func() { sysBlock, devDir = oldSys, oldDev })
	return dir, sys, dev
}

// mkext4 makes a 4 MiB ext4 file system on the file path, labelled label
// (none when empty), with mke2fs.
func mkext4(t testing.TB, path, label string) {
	t.Helper()
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Fatalf("mke2fs missing: install Debian package e2fsprogs (make deps)")
	}
	args := []string{"-q", "-F", "-t", "ext4", path, "4M"}
	if label != "" {
		args = append([]string{"-L", label}, args...)
	}
	if out, err := exec.Command("mke2fs", args...).CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v: %s", err, out)
	}
}
