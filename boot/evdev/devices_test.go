package evdev_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/boot/evdev"
	"github.com/rayos/engine/components"
)

// patience bounds every wait for something that must happen; it is not
// a timing threshold (a correct run is done in milliseconds).
const patience = 20 * time.Second

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fifo makes a named pipe and opens it read-write under a temporary
// name, then moves it to path: a rescan never sees it without a writer
// (whose absence a reader reads as the end of the stream).
func fifo(t *testing.T, path string) *os.File {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := syscall.Mkfifo(tmp, 0o600); err != nil {
		t.Fatalf("mkfifo %s: %v", tmp, err)
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func write(t *testing.T, f *os.File, evs ...evdev.Event) {
	t.Helper()
	var b []byte
	for _, e := range evs {
		b = e.Encode(b)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, d *evdev.Devices) components.Input {
	t.Helper()
	select {
	case in := <-d.Inputs():
		return in
	case <-time.After(patience):
		t.Fatalf("no input within %v", patience)
	}
	panic("unreachable")
}

func start(t *testing.T, dir string) (*evdev.Devices, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	d := evdev.Start(evdev.Options{Dir: dir, Width: 1920, Height: 1080, Rescan: 10 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	t.Cleanup(func() { closeWithin(t, d) })
	return d, logs
}

func closeWithin(t *testing.T, d *evdev.Devices) {
	done := make(chan struct{})
	go func() { d.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(patience):
		t.Errorf("Close did not return within %v", patience)
	}
}

func TestDevicesFindsHotPluggedDevicesAndDropsGoneOnes(t *testing.T) {
	dir := t.TempDir()
	first := fifo(t, filepath.Join(dir, "event0"))
	// A regular file is no device: it is ignored (and said so, once).
	if err := os.WriteFile(filepath.Join(dir, "event9"), key(30, 1).Encode(syn().Encode(nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	// Names that are not event<N> are not looked at.
	fifo(t, filepath.Join(dir, "mouse0"))
	fifo(t, filepath.Join(dir, "event01"))
	d, logs := start(t, dir)

	write(t, first, key(30, 1), syn())
	if in := next(t, d); in.Kind != components.InputKey || in.Device != 0 || in.Key != 30 || !in.Pressed {
		t.Fatalf("from event0: %+v", in)
	}

	// Plugged after the start: the rescan finds it; its number is its
	// name's.
	hot := fifo(t, filepath.Join(dir, "event3"))
	write(t, hot, rel(evdev.RelX, -10), syn())
	if in := next(t, d); in.Kind != components.InputPointer || in.Device != 3 || in.Pointer != [2]float32{950, 540} {
		t.Fatalf("from event3: %+v", in)
	}

	// The writer of event0 goes away with a key held: the key is
	// released, and the device is dropped.
	first.Close()
	if in := next(t, d); in.Kind != components.InputKey || in.Device != 0 || in.Key != 30 || in.Pressed {
		t.Fatalf("the release of event0's held key: %+v", in)
	}
	// The other device still works, and the only inputs are event3's.
	write(t, hot, key(evdev.KeyPower, 1), syn())
	if in := next(t, d); in.Kind != components.InputSignal || in.Text != evdev.PowerButton || in.Device != 3 {
		t.Fatalf("power button on event3: %+v", in)
	}
	select {
	case in := <-d.Inputs():
		t.Fatalf("an input from nowhere: %+v", in)
	default:
	}
	l := logs.String()
	for _, want := range []string{"event9", "ignored", "closed by its writer", "path=" + filepath.Join(dir, "event3")} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
	if n := strings.Count(l, "event9"); n != 1 {
		t.Errorf("event9 logged %d times, want once:\n%s", n, l)
	}
	if strings.Contains(l, "event01") || strings.Contains(l, "mouse0") {
		t.Errorf("a name that is not event<N> was looked at:\n%s", l)
	}
}

func TestDevicesWaitForAMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "input")
	d, logs := start(t, dir)
	if !strings.Contains(logs.String(), "folder not readable") {
		t.Fatalf("a missing folder is not logged:\n%s", logs.String())
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := fifo(t, filepath.Join(dir, "event7"))
	write(t, f, key(2, 1), syn())
	if in := next(t, d); in.Device != 7 || in.Key != 2 {
		t.Fatalf("from event7: %+v", in)
	}
}

func TestDevicesCloseStopsBlockedReaders(t *testing.T) {
	dir := t.TempDir()
	f := fifo(t, filepath.Join(dir, "event1"))
	d, logs := start(t, dir)
	// Many packets nobody takes: the readers wait on the full queue, or
	// on the pipe.
	for i := range 50 {
		write(t, f, key(uint16(2+i%10), 1), syn(), key(uint16(2+i%10), 0), syn())
	}
	deadline := time.Now().Add(patience)
	for !strings.Contains(logs.String(), "event1") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	closeWithin(t, d)
	select {
	case in, ok := <-d.Inputs():
		t.Fatalf("an input after Close: %+v %v", in, ok)
	default:
	}
}
