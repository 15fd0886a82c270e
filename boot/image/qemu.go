package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rayos/engine/boot/lines"
	"github.com/rayos/engine/world/atomicfile"
	"golang.org/x/sys/unix"
)

// Firmware defaults: Debian's ovmf package.
const (
	DefaultFirmware     = "/usr/share/OVMF/OVMF_CODE.fd"
	DefaultVarsTemplate = "/usr/share/OVMF/OVMF_VARS.fd"
)

// BootOptions say how to run an image in QEMU. Only Image is required.
type BootOptions struct {
	Image string
	// Entry, when set, is the entry of the next boot only (normal,
	// recovery or previous), set as systemd-boot's one-shot EFI variable.
	Entry string
	// Vars is the machine's EFI variable store, kept between boots like a
	// real machine's NVRAM; default Image + ".vars", made from
	// VarsTemplate when missing.
	Vars, VarsTemplate, Firmware string
	// Log receives the serial console too; default Image + ".log".
	Log string
	// QMP, when set, is a QMP socket QEMU opens for the caller (tests
	// type keys and take screendumps through it).
	QMP string
	// MemoryMiB and CPUs size the machine (1024, 2).
	MemoryMiB, CPUs int
	// NoReboot ends the run at the first restart instead of booting again.
	NoReboot bool
	// Timeout stops the machine (killed) after that long; 0 never.
	Timeout time.Duration
	// Stdout receives the serial console (the markers among it).
	Stdout io.Writer
	// Interrupt: the first value presses the power button (an orderly
	// shutdown), a second one kills the machine.
	Interrupt <-chan os.Signal
}

// BootResult is what a run of the machine saw on its serial console.
type BootResult struct {
	// Status is the runtime's exit status from the last halt marker
	// (RAYOS_BOOT:halt:status=N action=…); -1 when none was seen.
	Status int
	// Action is that marker's action (poweroff or reboot).
	Action string
	// Boots counts RAYOS_BOOT:start lines, Ready RAYOS_BOOT:ready lines.
	Boots, Ready int
	// FirstReady is the time from QEMU's start to the first ready marker.
	FirstReady time.Duration
	// TimedOut: the machine was killed at Timeout.
	TimedOut bool
	// Elapsed is how long QEMU ran.
	Elapsed time.Duration
}

var haltRE = regexp.MustCompile(`^RAYOS_BOOT:halt:status=(-?\d+) action=(\w+)`)

// BootImage runs the image under QEMU's software emulation (q35, OVMF,
// a virtio disk) with the serial console on Stdout and in Log, until the
// machine powers off (or restarts, with NoReboot), Timeout passes or a
// second interrupt. Reboots in between are real reboots of the machine.
//
// Everything that can be refused is refused before a file is changed or
// QEMU started. The image is locked for the run (flock, held by QEMU too),
// so a second harness on it is refused instead of truncating the first's
// log and rewriting its variable store under it.
func BootImage(o BootOptions) (BootResult, error) {
	res := BootResult{Status: -1}
	if err := o.fill(); err != nil {
		return res, err
	}
	lock, err := lockImage(o.Image, o.Vars)
	if err != nil {
		return res, err
	}
	defer lock.Close()
	// Opened before the variables are touched (a --log that cannot be
	// written refuses the boot with nothing changed), truncated only once
	// the boot is sure to run.
	logFile, err := os.OpenFile(o.Log, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return res, fmt.Errorf("image boot: --log: %w", err)
	}
	defer logFile.Close()
	if err := o.makeVars(); err != nil {
		return res, err
	}
	if o.Entry != "" {
		if err := SetVariable(o.Vars, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z(o.Entry+".conf")); err != nil {
			return res, err
		}
	}
	if err := logFile.Truncate(0); err != nil {
		return res, fmt.Errorf("image boot: --log: %w", err)
	}

	// The harness's own QMP socket, for the power button on an interrupt;
	// the caller's (QMP) is a second one. In /tmp when TMPDIR is too deep
	// for a socket path.
	ctlDir, err := os.MkdirTemp("", "rayos-qemu-")
	if err == nil && len(ctlDir)+len("/qmp.sock") > maxSocketPath {
		os.Remove(ctlDir)
		ctlDir, err = os.MkdirTemp("/tmp", "rayos-qemu-")
	}
	if err != nil {
		return res, fmt.Errorf("image boot: %w", err)
	}
	defer os.RemoveAll(ctlDir)
	ownQMP := filepath.Join(ctlDir, "qmp.sock")
	// Paths are absolute (a "name:" prefix would be a QEMU protocol) and
	// their commas doubled (QEMU's escape: a single comma starts the next
	// option).
	args := []string{
		"-machine", "q35", "-accel", "tcg",
		"-m", strconv.Itoa(o.MemoryMiB), "-smp", strconv.Itoa(o.CPUs),
		"-display", "none", "-serial", "stdio", "-monitor", "none",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + qemuOpt(o.Firmware),
		"-drive", "if=pflash,format=raw,unit=1,file=" + qemuOpt(o.Vars),
		"-drive", "file=" + qemuOpt(o.Image) + ",format=raw,if=none,id=disk0",
		"-device", "virtio-blk-pci,drive=disk0",
		"-qmp", "unix:" + qemuOpt(ownQMP) + ",server=on,wait=off",
	}
	if o.QMP != "" {
		args = append(args, "-qmp", "unix:"+qemuOpt(o.QMP)+",server=on,wait=off")
	}
	if o.NoReboot {
		args = append(args, "-no-reboot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: Ctrl+C at a terminal signals the whole
		// foreground group, and QEMU quits at once on SIGINT — a power
		// cut. The harness alone hears it and presses the power button.
		Setpgid: true,
		// A harness killed outright (SIGKILL) takes the machine with it
		// rather than leave it running with nobody to stop it.
		Pdeathsig: syscall.SIGKILL,
	}
	// QEMU holds the image's lock too, so it lasts as long as the machine.
	cmd.ExtraFiles = []*os.File{lock}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("image boot: qemu-system-x86_64: %w (Debian package qemu-system-x86)", err)
	}

	var mu sync.Mutex
	scanned := make(chan struct{})
	stdoutGone := make(chan error, 1)
	out := &console{w: o.Stdout, gone: stdoutGone}
	lastHalt := -1 // the boot (res.Boots) that the last halt marker ended
	readySeen := make(chan struct{}, 1)
	go func() {
		defer close(scanned)
		lines.Each(stdout, maxMarkerLine, func(line []byte, end, whole bool) {
			if end {
				line = bytes.TrimRight(line, "\r")
			}
			out.write(line, end)
			logFile.Write(line)
			if end {
				logFile.Write([]byte{'\n'})
			}
			if !whole {
				return
			}
			clean := stripEscapes(string(line))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case strings.HasPrefix(clean, "RAYOS_BOOT:start:"):
				res.Boots++
			case strings.HasPrefix(clean, "RAYOS_BOOT:ready:"):
				if res.Ready == 0 {
					res.FirstReady = time.Since(start)
				}
				res.Ready++
				select {
				case readySeen <- struct{}{}:
				default:
				}
			}
			if m := haltRE.FindStringSubmatch(clean); m != nil {
				res.Status, _ = strconv.Atoi(m[1])
				res.Action = m[2]
				lastHalt = res.Boots
			}
		})
	}()

	exited := make(chan error, 1)
	go func() {
		<-scanned
		exited <- cmd.Wait()
	}()
	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	pressKilled := false
	// powerButton presses the machine's power button; with kill, a QMP
	// that does not answer stops the machine instead.
	powerButton := func(kill bool) {
		q, err := DialQMP(ownQMP, 2*time.Second)
		if err == nil {
			err = q.PowerDown()
			q.Close()
		}
		if err != nil && kill {
			pressKilled = true
			cancel()
		}
	}
	// A power button pressed before RayOS listens (firmware, kernel) is
	// lost: once a shutdown is wanted it is pressed again at each ready.
	shutdownWanted := false
	interrupts := 0
	var waitErr error
	for done := false; !done; {
		select {
		case waitErr = <-exited:
			done = true
		case <-timeout:
			mu.Lock()
			res.TimedOut = true
			mu.Unlock()
			cancel()
		case err := <-stdoutGone:
			// Nobody reads the console any more (`| head -1`): shut the
			// machine down in order; the log keeps the rest.
			slog.Warn("image boot: stdout closed; pressing the power button, the console goes on in the log", "err", err, "log", o.Log)
			shutdownWanted = true
			powerButton(true)
		case <-readySeen:
			if shutdownWanted {
				powerButton(false) // the machine may be going off already
			}
		case <-o.Interrupt:
			interrupts++
			if interrupts > 1 {
				cancel()
				continue
			}
			shutdownWanted = true
			powerButton(true)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	res.Elapsed = time.Since(start)
	switch {
	case res.TimedOut:
		return res, fmt.Errorf("image boot: stopped after %s (--timeout); last runtime status %d; serial log %s", o.Timeout, res.Status, o.Log)
	case interrupts > 1:
		return res, fmt.Errorf("image boot: killed by a second interrupt; serial log %s", o.Log)
	case waitErr != nil && !(pressKilled && res.Status >= 0 && lastHalt == res.Boots):
		// (A machine that halted as the button was pressed, its QMP gone
		// with it, ended well: the kill found it already off.)
		return res, fmt.Errorf("image boot: qemu-system-x86_64: %v: %s", waitErr, strings.TrimSpace(stderr.String()))
	case res.Status < 0:
		return res, fmt.Errorf("image boot: the machine stopped without RayOS's halt marker; serial log %s", o.Log)
	case lastHalt < res.Boots:
		return res, fmt.Errorf("image boot: the machine stopped during boot %d without RayOS's halt marker (boot %d's said status %d); serial log %s", res.Boots, lastHalt, res.Status, o.Log)
	}
	return res, nil
}

// maxSocketPath is the longest unix socket path (sun_path is 108 bytes
// with its NUL).
const maxSocketPath = 107

// maxMarkerLine is the longest console line read as a whole (and so
// parsed for markers); longer lines are passed on in pieces.
const maxMarkerLine = 64 << 10

// qemuOpt escapes a value for QEMU's key=value,… options.
func qemuOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// console writes the serial console to the caller's stdout until a write
// fails (a closed pipe), and says so once on gone.
type console struct {
	w    io.Writer
	gone chan<- error
	dead bool
}

func (c *console) write(line []byte, end bool) {
	if c.dead {
		return
	}
	buf := line
	if end {
		buf = append(line[:len(line):len(line)], '\n')
	}
	if _, err := c.w.Write(buf); err != nil {
		c.dead = true
		c.gone <- err
	}
}

// lockImage takes the image's lock for the run (flock: QEMU's own locks
// are fcntl locks, which do not conflict with it). A QEMU started some
// other way is found by its locks on the image or the variable store
// (QEMU locks bytes 100-299 of every image it opens).
func lockImage(img, vars string) (*os.File, error) {
	for _, p := range []string{img, vars} {
		if busy, err := qemuHolds(p); err == nil && busy {
			return nil, fmt.Errorf("image boot: %s is in use by a running QEMU (another machine has it open)", p)
		}
	}
	f, err := os.Open(img)
	if err != nil {
		return nil, fmt.Errorf("image boot: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("image boot: %s is in use by another `rayos image boot` (one machine per image: its disk and variable store are written)", img)
		}
		return nil, fmt.Errorf("image boot: lock %s: %w", img, err)
	}
	return f, nil
}

// qemuHolds says whether a process holds a QEMU image lock on path.
func qemuHolds(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 100, Len: 200}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

// checkQMP refuses a --qmp path QEMU could not use or would destroy: QEMU
// unlinks whatever is at the path before it listens there, so a file, or
// another program's live socket, would be lost.
func checkQMP(p string) error {
	if len(p) > maxSocketPath {
		return fmt.Errorf("image boot: --qmp %s: %d bytes is too long for a unix socket path (at most %d)", p, len(p), maxSocketPath)
	}
	st, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		if d, err := os.Stat(filepath.Dir(p)); err != nil || !d.IsDir() {
			return fmt.Errorf("image boot: --qmp %s: no folder %s", p, filepath.Dir(p))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("image boot: --qmp: %w", err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("image boot: --qmp %s: exists and is not a socket (%s); QEMU would delete it", p, atomicfile.Kind(st.Mode()))
	}
	if c, err := net.DialTimeout("unix", p, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("image boot: --qmp %s: in use (a program is listening there)", p)
	}
	return nil // a stale socket: QEMU replaces it
}

// fill sets the defaults and checks everything it can without changing a
// file.
func (o *BootOptions) fill() error {
	if o.Image == "" {
		return errors.New("image boot: no image")
	}
	st, err := os.Stat(o.Image)
	if err != nil {
		return fmt.Errorf("image boot: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("image boot: %s is not a regular file", o.Image)
	}
	if o.Entry != "" && o.Entry != "normal" && o.Entry != "recovery" && o.Entry != "previous" {
		return fmt.Errorf("image boot: --entry %q: want normal, recovery or previous", o.Entry)
	}
	if o.Firmware == "" {
		o.Firmware = DefaultFirmware
	}
	if o.VarsTemplate == "" {
		o.VarsTemplate = DefaultVarsTemplate
	}
	if o.Vars == "" {
		o.Vars = o.Image + ".vars"
	}
	if o.Log == "" {
		o.Log = o.Image + ".log"
	}
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 1024
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	for _, p := range []*string{&o.Image, &o.Vars, &o.Firmware, &o.Log} {
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
	if _, err := os.Stat(o.Firmware); err != nil {
		return fmt.Errorf("image boot: firmware %s: %v (Debian package ovmf)", o.Firmware, unwrapPath(err))
	}
	if _, err := os.Stat(o.Vars); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(o.VarsTemplate); err != nil {
			return fmt.Errorf("image boot: EFI variable template %s: %v (Debian package ovmf)", o.VarsTemplate, unwrapPath(err))
		}
	} else if _, err := readVarStore(o.Vars); err != nil {
		return err
	}
	if err := checkGPT(o.Image); err != nil {
		return err
	}
	if st, err := os.Stat(o.Log); err == nil && st.IsDir() {
		return fmt.Errorf("image boot: --log %s is a folder", o.Log)
	} else if d, err := os.Stat(filepath.Dir(o.Log)); err != nil || !d.IsDir() {
		return fmt.Errorf("image boot: --log %s: no folder %s", o.Log, filepath.Dir(o.Log))
	}
	if o.QMP != "" {
		if err := checkQMP(o.QMP); err != nil {
			return err
		}
	}
	return nil
}

// makeVars makes the variable store from the template when it is missing.
func (o *BootOptions) makeVars() error {
	if _, err := os.Stat(o.Vars); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tmpl, err := atomicfile.ReadRegular(o.VarsTemplate, maxVarStore)
	if err != nil {
		return fmt.Errorf("image boot: EFI variable template %s: %v (Debian package ovmf)", o.VarsTemplate, unwrapPath(err))
	}
	if err := atomicfile.WriteBytes(o.Vars, tmpl, 0o644); err != nil {
		return fmt.Errorf("image boot: %w", err)
	}
	return nil
}

// checkGPT refuses a file that is not a GPT disk (a log, the variable
// store, a file of zeros): the firmware would find nothing to boot and
// wait at its boot menu for good.
func checkGPT(img string) error {
	f, err := os.Open(img)
	if err != nil {
		return fmt.Errorf("image boot: %w", err)
	}
	defer f.Close()
	sig := make([]byte, 8)
	if _, err := f.ReadAt(sig, 512); err != nil || string(sig) != "EFI PART" {
		return fmt.Errorf("image boot: %s: no GPT (\"EFI PART\" at byte 512): not a disk image (rayos image build makes one)", img)
	}
	return nil
}

var escapeRE = regexp.MustCompile(`\x1b\[[0-9;=?]*[A-Za-z]`)

// stripEscapes removes the firmware's terminal escapes from a console line.
func stripEscapes(s string) string { return escapeRE.ReplaceAllString(s, "") }
