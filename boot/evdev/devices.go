package evdev

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rayos/engine/components"
)

// Defaults of [Options].
const (
	DefaultRescan = time.Second
	DefaultQueue  = 256
)

// Options configure [Start].
type Options struct {
	// Dir is the folder of event* devices (/dev/input).
	Dir string
	// Width and Height are the frame's size in pixels: the cursor's
	// bounds and a tablet's scale.
	Width, Height int
	// Rescan is how often Dir is read again for hot-plugged devices
	// (DefaultRescan when 0).
	Rescan time.Duration
	// Queue bounds the inputs waiting for the tick (DefaultQueue when
	// 0); a reader that finds it full waits, and the kernel's own buffer
	// then overflows into SYN_DROPPED.
	Queue int
	// Log receives the devices found and lost (slog.Default when nil).
	Log *slog.Logger
}

// Devices reads every event* device of a folder. Its inputs come out of
// [Devices.Inputs] in the order each device sent them.
type Devices struct {
	o      Options
	out    chan components.Input
	done   chan struct{}
	cursor *Cursor
	wg     sync.WaitGroup

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	// q is the bounded queue between the readers and the tick;
	// last the Buttons of each device's last pointer input queued, which
	// tells a move from a press or release.
	q    []queued
	last map[uint32]uint32
	// open are the devices being read, by path; skip the files not to
	// open again while they stay the same file (a device that failed, a
	// regular file), each logged once.
	open map[string]*os.File
	skip map[string]fileID
	// missing: Dir could not be read at the last scan.
	missing bool
}

type queued struct {
	in   components.Input
	move bool
}

// fileID tells one file at a path from the next one there (a device
// unplugged and another plugged gets a new inode).
type fileID struct{ dev, ino, rdev uint64 }

// Start scans o.Dir and starts a reader for each device, and rescans it
// until Close. A folder that is missing or unreadable is logged, not an
// error: it is scanned again, and devices are read once it appears.
func Start(o Options) *Devices {
	if o.Rescan <= 0 {
		o.Rescan = DefaultRescan
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	d := &Devices{
		o: o, out: make(chan components.Input), done: make(chan struct{}),
		cursor: NewCursor(o.Width, o.Height),
		last:   map[uint32]uint32{}, open: map[string]*os.File{}, skip: map[string]fileID{},
	}
	d.cond = sync.NewCond(&d.mu)
	d.scan()
	d.wg.Add(2)
	go d.forward()
	go d.watch()
	return d
}

// Inputs delivers the devices' inputs; nothing is delivered after Close.
func (d *Devices) Inputs() <-chan components.Input { return d.out }

// Close stops the readers and the rescans and closes the devices. Inputs
// still queued are dropped.
func (d *Devices) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	close(d.done)
	for _, f := range d.open {
		f.Close() // wakes its reader: devices and pipes are read through the poller
	}
	d.cond.Broadcast()
	d.mu.Unlock()
	d.wg.Wait()
}

// watch rescans the folder for hot-plugged devices.
func (d *Devices) watch() {
	defer d.wg.Done()
	t := time.NewTicker(d.o.Rescan)
	defer t.Stop()
	for {
		select {
		case <-d.done:
			return
		case <-t.C:
			d.scan()
		}
	}
}

// Number is the device number of an event* name (event3: 3).
func Number(name string) (uint32, bool) {
	s, ok := strings.CutPrefix(name, "event")
	if !ok || s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// scan opens the event* devices of the folder not open yet.
func (d *Devices) scan() {
	entries, err := os.ReadDir(d.o.Dir)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if err != nil {
		if !d.missing {
			d.missing = true
			d.o.Log.Warn("input devices: folder not readable; rescanning for it", "dir", d.o.Dir, "err", err)
		}
		return
	}
	if d.missing {
		d.missing = false
		d.o.Log.Info("input devices: folder found", "dir", d.o.Dir)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		num, ok := Number(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(d.o.Dir, e.Name())
		seen[path] = true
		if d.open[path] != nil {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil {
			continue // gone between the listing and now
		}
		id := idOf(fi)
		if s, ok := d.skip[path]; ok && s == id {
			continue
		}
		if t := fi.Mode().Type(); t&fs.ModeCharDevice == 0 && t&fs.ModeNamedPipe == 0 {
			// A regular file is no device (and would never block: it
			// would be read to its end at once).
			d.skip[path] = id
			d.o.Log.Warn("input devices: not a character device or named pipe; ignored", "path", path, "mode", fi.Mode().String())
			continue
		}
		// O_NONBLOCK: opening a named pipe must not wait for its writer;
		// reads still wait, in the poller.
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			d.skip[path] = id
			d.o.Log.Warn("input device not opened", "path", path, "err", err)
			continue
		}
		t := NewTranslator(num, d.cursor)
		t.Abs = [2]*Axis{absAxis(f, AbsX), absAxis(f, AbsY)}
		if _, err := keyState(f); err == nil {
			t.KeyState = func() ([]byte, error) { return keyState(f) }
		}
		name := deviceName(f)
		d.o.Log.Info("input device", "path", path, "device", num, "name", name, "tablet", t.Abs[0] != nil && t.Abs[1] != nil)
		d.open[path] = f
		d.wg.Add(1)
		go d.read(path, name, f, id, t)
	}
	for path := range d.skip {
		if !seen[path] {
			delete(d.skip, path) // a new file there is tried again
		}
	}
}

func idOf(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(st.Dev), uint64(st.Ino), uint64(st.Rdev)}
	}
	return fileID{}
}

// read runs one device until it fails or Close.
func (d *Devices) read(path, name string, f *os.File, id fileID, t *Translator) {
	defer d.wg.Done()
	dec := NewDecoder(f)
	var out []components.Input
	for {
		ev, err := dec.Next()
		if err != nil {
			d.mu.Lock()
			closed := d.closed
			if !closed {
				delete(d.open, path)
				d.skip[path] = id // not reopened while it is the same file
				f.Close()
			}
			d.mu.Unlock()
			if closed {
				return
			}
			switch {
			case errors.Is(err, syscall.ENODEV):
				d.o.Log.Info("input device gone", "path", path, "device", t.Device, "name", name)
			case errors.Is(err, io.EOF):
				d.o.Log.Info("input device closed by its writer", "path", path, "device", t.Device, "name", name)
			default:
				d.o.Log.Warn("input device dropped", "path", path, "device", t.Device, "name", name, "err", err)
			}
			d.push(t.Release(out[:0]))
			return
		}
		if out = t.Feed(ev, out[:0]); len(out) > 0 {
			d.push(out)
		}
	}
}

// push queues inputs for the tick, waiting while the queue is full. A
// pointer input that changes no button replaces the same device's
// previous such input when nothing of that device was queued between
// them (as the viewer's page inputs): a world that falls behind sees
// every key, press and release, and at most one position per device in
// between.
func (d *Devices) push(ins []components.Input) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, in := range ins {
		move := false
		if in.Kind == components.InputPointer {
			last, ok := d.last[in.Device]
			move = ok && last == in.Buttons
			d.last[in.Device] = in.Buttons
		}
		if move && d.coalesce(in) {
			continue
		}
		for len(d.q) >= d.o.Queue && !d.closed {
			d.cond.Wait()
		}
		if d.closed {
			return
		}
		d.q = append(d.q, queued{in, move})
		d.cond.Broadcast()
	}
}

// coalesce folds a move into the device's last queued input if that is a
// move too.
func (d *Devices) coalesce(in components.Input) bool {
	for i := len(d.q) - 1; i >= 0; i-- {
		if d.q[i].in.Device != in.Device {
			continue
		}
		if d.q[i].move {
			d.q[i].in.Pointer = in.Pointer
			return true
		}
		return false
	}
	return false
}

// forward hands the queued inputs to the tick loop one by one. Only the
// one being handed over leaves the queue: the rest can still coalesce.
func (d *Devices) forward() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		for len(d.q) == 0 && !d.closed {
			d.cond.Wait()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		in := d.q[0].in
		d.q = append(d.q[:0], d.q[1:]...)
		d.cond.Broadcast()
		d.mu.Unlock()
		select {
		case d.out <- in:
		case <-d.done:
			return
		}
	}
}
