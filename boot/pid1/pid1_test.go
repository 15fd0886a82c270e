package pid1

import (
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
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Fatalf("mke2fs missing: install Debian package e2fsprogs (make deps)")
	}
	dir := t.TempDir()
	sys, dev := filepath.Join(dir, "sys"), filepath.Join(dir, "dev")
	os.MkdirAll(sys, 0o755)
	os.MkdirAll(dev, 0o755)
	// vda: not a file system; vda1: ext4 labelled OTHER; vda2: RAYOS_DATA.
	os.WriteFile(filepath.Join(dev, "vda"), make([]byte, 4096), 0o644)
	for name, label := range map[string]string{"vda1": "OTHER", "vda2": "RAYOS_DATA"} {
		img := filepath.Join(dev, name)
		if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-L", label, img, "4M").CombinedOutput(); err != nil {
			t.Fatalf("mke2fs: %v: %s", err, out)
		}
	}
	for _, n := range []string{"vda", "vda1", "vda2", "loop0"} { // loop0 has no node
		os.Mkdir(filepath.Join(sys, n), 0o755)
	}
	sysBlock, devDir = sys, dev
	t.Cleanup(func() { sysBlock, devDir = "/sys/class/block", "/dev" })

	if got := findLabel("RAYOS_DATA"); got != filepath.Join(dev, "vda2") {
		t.Errorf("findLabel(RAYOS_DATA) = %q, want vda2", got)
	}
	if got := findLabel("NOPE"); got != "" {
		t.Errorf("findLabel(NOPE) = %q, want none", got)
	}
	if l, ok := ext4Label(filepath.Join(dev, "vda")); ok {
		t.Errorf("zeros read as ext4 labelled %q", l)
	}
	start := time.Now()
	_, err := findDevice("LABEL=NOPE", 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "LABEL=NOPE") || !strings.Contains(err.Error(), "vda2") {
		t.Errorf("a label that never appears: %v (the error names it and the devices seen)", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Error("findDevice gave up before its timeout")
	}
	if _, err := findDevice("UUID=1234", time.Second); err == nil || !strings.Contains(err.Error(), "want LABEL=") {
		t.Errorf("an unsupported spec: %v", err)
	}
	// A /dev path: must be a device node, not a regular file.
	if _, err := findDevice(filepath.Join(dev, "vda2"), 200*time.Millisecond); err == nil {
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
