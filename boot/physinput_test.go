package boot_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/evdev"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

var shutdownRe = regexp.MustCompile(`RAYOS_BOOT:shutdown:reason=(\S+) tick=(\d+)`)

// runUntilStopped runs a boot and waits for it to stop by itself; after
// patience it sends SIGTERM and fails.
func runUntilStopped(t *testing.T, o boot.Options) (reason, tick string) {
	t.Helper()
	sigs := make(chan os.Signal, 1)
	o.Signals = sigs
	out := &boot.LockedBuffer{}
	o.Stdout = out
	done := make(chan error, 1)
	go func() { done <- boot.Run(o) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("boot: %v", err)
		}
	case <-time.After(60 * time.Second):
		sigs <- syscall.SIGTERM
		<-done
		t.Fatalf("the boot did not stop by itself; markers:\n%s", out.String())
	}
	m := shutdownRe.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no shutdown marker:\n%s", out.String())
	}
	return m[1], m[2]
}

// A boot reading a folder of devices (named pipes standing in for
// /dev/input/event*) takes their keys and pointer, and stops at the power
// button with reason signal-power-button; its journal replays to the
// same stop, with no device.
func TestPhysicalInputPowerButtonStopsTheBootAndReplays(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".event4")
	if err := syscall.Mkfifo(tmp, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	dev, err := os.OpenFile(tmp, os.O_RDWR, 0) // a writer before the reader opens it
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := os.Rename(tmp, filepath.Join(dir, "event4")); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, e := range []evdev.Event{
		{Type: evdev.EvKey, Code: 30, Value: 1}, {Type: evdev.EvSyn},
		{Type: evdev.EvKey, Code: 30, Value: 0}, {Type: evdev.EvSyn},
		{Type: evdev.EvRel, Code: evdev.RelX, Value: 40}, {Type: evdev.EvKey, Code: evdev.BtnLeft, Value: 1}, {Type: evdev.EvSyn},
		{Type: evdev.EvKey, Code: evdev.KeyPower, Value: 1}, {Type: evdev.EvSyn},
	} {
		b = e.Encode(b)
	}
	if _, err := dev.Write(b); err != nil {
		t.Fatal(err)
	}

	logs := &boot.LockedBuffer{}
	journal := filepath.Join(t.TempDir(), "run.jsonl")
	reason, tick := runUntilStopped(t, boot.Options{
		DataDir: filepath.Join(t.TempDir(), "data"), Scene: "demo", Hz: 100, Seed: 1, Paced: true, GPU: gpu.ModeCPU,
		InputDevices: dir, RecordPath: journal, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if reason != "signal-power-button" {
		t.Fatalf("shutdown reason %q, want signal-power-button", reason)
	}
	if !strings.Contains(logs.String(), "input device") || !strings.Contains(logs.String(), "device=4") {
		t.Errorf("the device is not logged:\n%s", logs.String())
	}

	j, err := world.ReadJournalFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range j.Events {
		in, err := e.Input.ToInput()
		if err != nil {
			t.Fatal(err)
		}
		switch in.Kind {
		case components.InputKey, components.InputPointer, components.InputSignal:
			if in.Device != 4 {
				t.Errorf("input %+v: device %d, want 4 (event4)", in, in.Device)
			}
			kinds = append(kinds, components.InputKindNames[in.Kind])
		}
		if in.Kind == components.InputPointer && (in.Pointer != [2]float32{1000, 540} || in.Buttons != 1) {
			t.Errorf("pointer %v buttons %d, want 1000,540 (the centre moved 40 right) and 1", in.Pointer, in.Buttons)
		}
	}
	if got := strings.Join(kinds, " "); got != "key key pointer signal" {
		t.Fatalf("journaled physical inputs %q, want key key pointer signal", got)
	}

	// The replay needs no device and stops at the same tick.
	rreason, rtick := runUntilStopped(t, boot.Options{
		Seed: j.Header.Seed, Scene: j.Header.Scene, Hz: j.Header.Hz, Ticks: j.LastTick(), Journal: j, Replay: true,
		GPU: gpu.ModeCPU, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if rreason != reason || rtick != tick {
		t.Fatalf("replay stopped with %s at tick %s; the boot with %s at tick %s", rreason, rtick, reason, tick)
	}
}

// A missing folder is logged and the boot goes on (here until its tick
// limit).
func TestPhysicalInputMissingFolderDoesNotFailTheBoot(t *testing.T) {
	logs := &boot.LockedBuffer{}
	reason, _ := runUntilStopped(t, boot.Options{
		DataDir: filepath.Join(t.TempDir(), "data"), Scene: "demo", Hz: 100, Seed: 1, Ticks: 5, GPU: gpu.ModeCPU,
		InputDevices: filepath.Join(t.TempDir(), "no-such-folder"), Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if reason != "tick-limit" {
		t.Fatalf("shutdown reason %q, want tick-limit", reason)
	}
	if !strings.Contains(logs.String(), "no-such-folder") {
		t.Fatalf("the missing folder is not logged:\n%s", logs.String())
	}
}
