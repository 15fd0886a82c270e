package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rayos/engine/world/atomicfile"
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
func BootImage(o BootOptions) (BootResult, error) {
	res := BootResult{Status: -1}
	if err := o.fill(); err != nil {
		return res, err
	}
	if o.Entry != "" {
		if err := SetVariable(o.Vars, OneShotVariable, LoaderGUID, VarNVBSRT, UTF16Z(o.Entry+".conf")); err != nil {
			return res, err
		}
	}
	logFile, err := os.OpenFile(o.Log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return res, fmt.Errorf("image boot: --log: %w", err)
	}
	defer logFile.Close()

	// PID 1's own QMP socket, for the power button on an interrupt; the
	// caller's (QMP) is a second one.
	ctlDir, err := os.MkdirTemp("", "rayos-qemu-")
	if err != nil {
		return res, fmt.Errorf("image boot: %w", err)
	}
	defer os.RemoveAll(ctlDir)
	ownQMP := filepath.Join(ctlDir, "qmp.sock")
	args := []string{
		"-machine", "q35", "-accel", "tcg",
		"-m", strconv.Itoa(o.MemoryMiB), "-smp", strconv.Itoa(o.CPUs),
		"-display", "none", "-serial", "stdio", "-monitor", "none",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + o.Firmware,
		"-drive", "if=pflash,format=raw,unit=1,file=" + o.Vars,
		"-drive", "file=" + o.Image + ",format=raw,if=none,id=disk0",
		"-device", "virtio-blk-pci,drive=disk0",
		"-qmp", "unix:" + ownQMP + ",server=on,wait=off",
	}
	if o.QMP != "" {
		args = append(args, "-qmp", "unix:"+o.QMP+",server=on,wait=off")
	}
	if o.NoReboot {
		args = append(args, "-no-reboot")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
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
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			fmt.Fprintln(o.Stdout, line)
			fmt.Fprintln(logFile, line)
			clean := stripEscapes(line)
			mu.Lock()
			switch {
			case strings.HasPrefix(clean, "RAYOS_BOOT:start:"):
				res.Boots++
			case strings.HasPrefix(clean, "RAYOS_BOOT:ready:"):
				if res.Ready == 0 {
					res.FirstReady = time.Since(start)
				}
				res.Ready++
			}
			if m := haltRE.FindStringSubmatch(clean); m != nil {
				res.Status, _ = strconv.Atoi(m[1])
				res.Action = m[2]
			}
			mu.Unlock()
		}
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
		case <-o.Interrupt:
			interrupts++
			if interrupts > 1 {
				cancel()
				continue
			}
			if q, err := DialQMP(ownQMP, 2*time.Second); err == nil {
				err = q.PowerDown()
				q.Close()
				if err != nil {
					cancel()
				}
			} else {
				cancel()
			}
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
	case waitErr != nil:
		return res, fmt.Errorf("image boot: qemu-system-x86_64: %v: %s", waitErr, strings.TrimSpace(stderr.String()))
	case res.Status < 0:
		return res, fmt.Errorf("image boot: the machine stopped without RayOS's halt marker; serial log %s", o.Log)
	}
	return res, nil
}

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
	if _, err := os.Stat(o.Firmware); err != nil {
		return fmt.Errorf("image boot: firmware %s: %v (Debian package ovmf)", o.Firmware, unwrapPath(err))
	}
	if _, err := os.Stat(o.Vars); errors.Is(err, os.ErrNotExist) {
		tmpl, err := os.ReadFile(o.VarsTemplate)
		if err != nil {
			return fmt.Errorf("image boot: EFI variable template %s: %v (Debian package ovmf)", o.VarsTemplate, unwrapPath(err))
		}
		if err := atomicfile.WriteBytes(o.Vars, tmpl, 0o644); err != nil {
			return fmt.Errorf("image boot: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("image boot: --vars: %w", err)
	}
	if _, err := readVarStore(o.Vars); err != nil {
		return err
	}
	return nil
}

var escapeRE = regexp.MustCompile(`\x1b\[[0-9;=?]*[A-Za-z]`)

// stripEscapes removes the firmware's terminal escapes from a console line.
func stripEscapes(s string) string { return escapeRE.ReplaceAllString(s, "") }
