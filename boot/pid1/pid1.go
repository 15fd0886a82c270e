package pid1

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/lines"
	"github.com/rayos/engine/world/marker"
	"golang.org/x/sys/unix"
)

// DataDir is where the RayOS Data partition is mounted.
const DataDir = "/var/rayos"

// Paths PID 1 uses; variables so a test can point them elsewhere.
var (
	cmdlinePath   = "/proc/cmdline"
	moduleList    = "/lib/modules/load"
	sysBlock      = "/sys/class/block"
	devDir        = "/dev"
	findTimeout   = 15 * time.Second
	stopGrace     = 3 * time.Second
	tailLines     = 200
	runtimeArgs   = []string{"boot", "--data", DataDir, "--display", "/dev/fb0", "--input-devices", "/dev/input"}
	rebootSyscall = unix.Reboot
)

// Action is what PID 1 does once the runtime has ended.
type Action string

const (
	PowerOff Action = "poweroff"
	Restart  Action = "reboot"
)

// ActionFor is the machine's fate after the runtime exited with status:
// a clean shutdown (0) powers off; anything else is a failed boot or a
// crash, and the machine restarts so the boot is counted and retried (or
// falls back to previous, then recovery).
func ActionFor(status int) Action {
	if status == 0 {
		return PowerOff
	}
	return Restart
}

// Main runs PID 1 and never returns: it ends in a reboot system call.
func Main() {
	console := openConsole()
	log := func(format string, args ...any) {
		fmt.Fprintf(console, "rayos init: "+format+"\n", args...)
	}
	status, crashed := 1, ""
	defer func() {
		// PID 1 itself panicked: write what is known and restart, rather
		// than let the kernel panic with nothing on the data partition.
		if r := recover(); r != nil {
			crashed = fmt.Sprint(r)
			writeCrash(console, boot.CrashReport{Time: time.Now(), Panic: "rayos init: " + crashed, Stack: stack()})
			finish(console, log, 1)
		}
	}()
	status = run(console, log)
	finish(console, log, status)
}

// run prepares the system, runs the runtime and returns its exit status.
func run(console *os.File, log func(string, ...any)) int {
	if err := mountEarly(); err != nil {
		log("%v", err)
	}
	// Ctrl+Alt+Delete becomes a signal to PID 1 instead of an immediate
	// restart: those keys belong to whatever has the focus (a guest).
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
	cmdline, _ := os.ReadFile(cmdlinePath)
	loaded, errs := loadModules(moduleList)
	for _, err := range errs {
		log("%v", err)
	}
	log("loaded %d kernel modules", loaded)
	_ = unix.Mount("efivarfs", "/sys/firmware/efi/efivars", "efivarfs", 0, "")

	if v := cmdlineValue(string(cmdline), "rayos.debug-panic"); v != "" {
		// The runtime's test hook (--debug-panic), for the image's own
		// end-to-end test of crash reports; a boot entry cannot be edited
		// at the boot menu (editor no).
		runtimeArgs = append(runtimeArgs, "--debug-panic", v)
	}
	spec := dataSpec(string(cmdline))
	choice, err := chooseDevice(spec, findTimeout)
	dev := choice.dev
	if err == nil {
		if choice.rule != "" {
			log("data partition %s: %s", spec, choice.rule)
		}
		err = mountData(dev)
	}
	if err != nil {
		// The runtime still boots, on an empty folder in memory, as
		// recovery: nothing on a partition that could not be mounted is
		// touched, and the screen and serial console say why.
		log("data partition %s not mounted: %v; booting recovery with RAYOS_DATA in memory", spec, err)
		runtimeArgs = append(runtimeArgs, "--entry", boot.EntryRecovery)
	} else {
		log("data partition %s (%s) mounted at %s", spec, dev, DataDir)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/init"
	}
	return supervise(console, log, exe, runtimeArgs)
}

// mountEarly mounts the kernel's file systems. /dev may already be
// mounted (devtmpfs.mount=1): EBUSY is fine.
func mountEarly() error {
	var errs []error
	for _, m := range []struct{ src, dst, fstype string }{
		{"devtmpfs", "/dev", "devtmpfs"},
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"tmpfs", "/run", "tmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.fstype, unix.MS_NOSUID, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err))
		}
	}
	return errors.Join(errs...)
}

// openConsole returns /dev/console for PID 1's own lines and makes it the
// standard streams (the kernel opened it for init if the initramfs had
// the node; if not, this is the first chance after /dev is mounted).
func openConsole() *os.File {
	if _, err := os.Stat("/dev/console"); err != nil {
		_ = unix.Mount("devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "")
	}
	f, err := os.OpenFile("/dev/console", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return os.Stderr
	}
	for _, fd := range []int{0, 1, 2} {
		_ = unix.Dup2(int(f.Fd()), fd)
	}
	return f
}

// loadModules loads each module named in list, in order. A module the
// kernel already has (EEXIST) is fine; others are reported and skipped:
// the boot goes on and the missing driver shows up where it is needed.
func loadModules(list string) (int, []error) {
	data, err := os.ReadFile(list)
	if err != nil {
		return 0, []error{fmt.Errorf("kernel modules: %w", err)}
	}
	var errs []error
	n := 0
	for _, p := range strings.Fields(string(data)) {
		f, err := os.Open(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("kernel module: %w", err))
			continue
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		switch {
		case err == nil:
			n++
		case errors.Is(err, unix.EEXIST):
		default:
			errs = append(errs, fmt.Errorf("kernel module %s: %w", p, err))
		}
	}
	return n, errs
}

// mountData mounts the data partition's ext4 at DataDir. A device with
// no ext4 superblock is said as such (the kernel's answer would be a bare
// "invalid argument").
func mountData(dev string) error {
	if _, ok := ext4Label(dev); !ok {
		return fmt.Errorf("%s: no ext4 file system (no superblock magic at byte 1080)", dev)
	}
	if err := os.MkdirAll(DataDir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, DataDir, "ext4", unix.MS_NOATIME|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("mount %s on %s (ext4): %w", dev, DataDir, err)
	}
	return nil
}

// supervise starts the runtime, forwards shutdown requests to it, reaps
// every child and returns the runtime's exit status. The runtime's
// output goes to the console through a pipe so that the last lines are
// at hand for a crash report if it dies without writing one.
func supervise(console *os.File, log func(string, ...any), exe string, args []string) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGPWR)
	defer signal.Stop(sigs)
	r, w, err := os.Pipe()
	if err != nil {
		log("pipe: %v", err)
		return 1
	}
	env := append(os.Environ(), "TMPDIR=/tmp", "HOME="+DataDir, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	proc, err := os.StartProcess(exe, append([]string{"rayos"}, args...), &os.ProcAttr{
		Dir: "/", Env: env, Files: []*os.File{nil, w, w},
	})
	w.Close()
	if err != nil {
		r.Close()
		log("starting the runtime: %v", err)
		return 1
	}
	tail := newTail(tailLines)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		copyLines(r, console, tail)
	}()
	status := -1
	var runtimeWS unix.WaitStatus
	for status < 0 {
		switch <-sigs {
		case unix.SIGCHLD:
			for {
				var ws unix.WaitStatus
				pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
				if pid == proc.Pid {
					runtimeWS, status = ws, exitStatus(ws)
				}
			}
		case unix.SIGTERM, unix.SIGPWR:
			log("shutdown requested; stopping the runtime")
			proc.Signal(unix.SIGTERM)
		case unix.SIGINT:
			log("Ctrl+Alt+Delete: ignored (the keys go to the focused surface)")
		}
	}
	// The runtime is gone: what it wrote last (its shutdown marker) is
	// still in the pipe, so the copy runs to the end — unless a process
	// it left behind holds the pipe open, which must not hold PID 1: after
	// a second the pipe is closed under it.
	select {
	case <-copied:
	case <-time.After(time.Second):
	}
	r.Close()
	if runtimeWS.Signaled() || (status != 0 && tail.crashedWithoutReport()) {
		why := fmt.Sprintf("the runtime exited with status %d", status)
		if runtimeWS.Signaled() {
			why = fmt.Sprintf("the runtime was killed by signal %d (%s)", int(runtimeWS.Signal()), runtimeWS.Signal())
		}
		writeCrash(console, boot.CrashReport{Time: time.Now(), Panic: why, Stack: []byte(strings.Join(tail.lines(), "\n") + "\n"), Markers: tail.markers()})
	}
	return status
}

// tailLineMax is the most of one line the tail keeps.
const tailLineMax = 64 << 10

// copyLines copies the runtime's output to the console and its lines to
// the tail until r ends. A line longer than the buffer is copied in
// pieces (the tail keeps its start): reading must never stop while the
// runtime lives, or it blocks on its next write to a full pipe.
func copyLines(r io.Reader, console io.Writer, t *tail) {
	first := true
	lines.Each(r, tailLineMax, func(line []byte, end, _ bool) {
		console.Write(line)
		if end {
			console.Write([]byte{'\n'})
		}
		if first {
			t.add(string(line))
		}
		first = end
	})
}

// exitStatus is a wait status as a shell would report it.
func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// writeCrash saves a crash report on the data partition, if it is there,
// and says where on the console.
func writeCrash(console io.Writer, c boot.CrashReport) {
	layout := boot.Layout{Root: DataDir}
	if !mounted(DataDir) {
		fmt.Fprintf(console, "rayos init: crash: %v (not saved: no data partition)\n", c.Panic)
		return
	}
	path, err := c.Write(layout.CrashDir())
	if err != nil {
		fmt.Fprintf(console, "rayos init: crash report not written: %v\n", err)
		return
	}
	rel, _ := filepath.Rel(DataDir, path)
	fmt.Fprintln(console, marker.Boot("crash", rel).String())
}

// mounted says whether dir is a mount point (its device differs from its
// parent's).
func mounted(dir string) bool {
	var a, b unix.Stat_t
	if unix.Stat(dir, &a) != nil || unix.Stat(filepath.Dir(dir), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// finish stops what is left, flushes and unmounts the data partition,
// prints the halt marker and powers off or restarts.
func finish(console *os.File, log func(string, ...any), status int) {
	action := ActionFor(status)
	// Every process still running gets SIGTERM, then SIGKILL.
	_ = unix.Kill(-1, unix.SIGTERM)
	deadline := time.Now().Add(stopGrace)
	for time.Now().Before(deadline) {
		pid, _ := unix.Wait4(-1, nil, unix.WNOHANG, nil)
		if pid < 0 {
			break // no children left
		}
		if pid == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	_ = unix.Kill(-1, unix.SIGKILL)
	line := marker.Boot("halt", fmt.Sprintf("status=%d action=%s", status, action)).String()
	appendMarker(line)
	unix.Sync()
	if mounted(DataDir) {
		if err := unix.Unmount(DataDir, 0); err != nil {
			log("unmount %s: %v; remounting read-only", DataDir, err)
			_ = unix.Mount("", DataDir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}
	}
	unix.Sync()
	fmt.Fprintln(console, line)
	cmd := unix.LINUX_REBOOT_CMD_POWER_OFF
	if action == Restart {
		cmd = unix.LINUX_REBOOT_CMD_RESTART
	}
	err := rebootSyscall(cmd)
	log("%s: %v", action, err)
	for {
		time.Sleep(time.Hour) // PID 1 must not exit
	}
}

// appendMarker adds PID 1's last marker to the runtime's marker log, so
// the data partition's record of a boot ends the way the console's does.
func appendMarker(line string) {
	if !mounted(DataDir) {
		return
	}
	f, err := os.OpenFile(boot.Layout{Root: DataDir}.MarkerLog(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	f.WriteString(line + "\n")
	f.Close()
}

// tail keeps the runtime's last output lines.
type tail struct {
	mu  sync.Mutex
	max int
	buf []string
}

func newTail(n int) *tail { return &tail{max: n} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == t.max {
		copy(t.buf, t.buf[1:])
		t.buf = t.buf[:t.max-1]
	}
	t.buf = append(t.buf, line)
}

func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}

// markers are the marker lines among the tail.
func (t *tail) markers() []string {
	var out []string
	for _, l := range t.lines() {
		if _, err := marker.Parse(l); err == nil {
			out = append(out, l)
		}
	}
	return out
}

// crashedWithoutReport: the Go runtime's last words (an unrecovered panic
// in a goroutine, a fatal error) with no crash marker of the runtime's own.
func (t *tail) crashedWithoutReport() bool {
	died := false
	for _, l := range t.lines() {
		if strings.HasPrefix(l, marker.KindBoot.Prefix()+":crash:") {
			return false
		}
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			died = true
		}
	}
	return died
}
