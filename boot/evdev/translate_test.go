package evdev_test

import (
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/rayos/engine/boot/evdev"
	"github.com/rayos/engine/components"
)

func ev(typ, code uint16, v int32) evdev.Event {
	return evdev.Event{Type: typ, Code: code, Value: v}
}

func key(code uint16, v int32) evdev.Event { return ev(evdev.EvKey, code, v) }
func rel(code uint16, v int32) evdev.Event { return ev(evdev.EvRel, code, v) }
func syn() evdev.Event                     { return ev(evdev.EvSyn, evdev.SynReport, 0) }
func dropped() evdev.Event                 { return ev(evdev.EvSyn, evdev.SynDropped, 0) }

// record builds one struct input_event by hand with encoding/binary, as
// the kernel lays it out, independently of Event.Encode.
func record(sec, usec int64, typ, code uint16, value int32) []byte {
	b := make([]byte, 24)
	binary.NativeEndian.PutUint64(b[0:], uint64(sec))
	binary.NativeEndian.PutUint64(b[8:], uint64(usec))
	binary.NativeEndian.PutUint16(b[16:], typ)
	binary.NativeEndian.PutUint16(b[18:], code)
	binary.NativeEndian.PutUint32(b[20:], uint32(value))
	return b
}

// throughPipe writes the chunks into a pipe, each its own Write (so each
// arrives as its own read), and decodes what comes out.
func throughPipe(t *testing.T, chunks ...[]byte) ([]evdev.Event, error) {
	t.Helper()
	r, w := io.Pipe()
	go func() {
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				return
			}
		}
		w.Close()
	}()
	defer r.Close()
	dec := evdev.NewDecoder(r)
	var evs []evdev.Event
	for {
		e, err := dec.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return evs, nil
			}
			return evs, err
		}
		evs = append(evs, e)
	}
}

func TestDecodeRecordsSplitAcrossReads(t *testing.T) {
	var stream []byte
	stream = append(stream, record(1700000000, 250000, evdev.EvKey, 30, 1)...)
	stream = append(stream, record(1700000000, 250001, evdev.EvSyn, evdev.SynReport, 0)...)
	stream = append(stream, record(-1, 999999, evdev.EvRel, evdev.RelX, -7)...)
	want := []evdev.Event{
		{Sec: 1700000000, Usec: 250000, Type: evdev.EvKey, Code: 30, Value: 1},
		{Sec: 1700000000, Usec: 250001, Type: evdev.EvSyn, Code: evdev.SynReport},
		{Sec: -1, Usec: 999999, Type: evdev.EvRel, Code: evdev.RelX, Value: -7},
	}
	for _, size := range []int{1, 5, 7, 23, 24, 25, 48, len(stream)} {
		var chunks [][]byte
		for rest := stream; len(rest) > 0; {
			n := min(size, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		got, err := throughPipe(t, chunks...)
		if err != nil {
			t.Fatalf("chunks of %d: %v", size, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunks of %d: got %v, want %v", size, got, want)
		}
	}
	// Encode is the same layout.
	var enc []byte
	for _, e := range want {
		enc = e.Encode(enc)
	}
	if string(enc) != string(stream) {
		t.Fatal("Event.Encode differs from struct input_event's layout")
	}
}

func TestDecodeTruncatedRecordAtEOFIsAnError(t *testing.T) {
	whole := record(0, 0, evdev.EvKey, 30, 1)
	got, err := throughPipe(t, whole, whole[:10])
	if !errors.Is(err, evdev.ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if len(got) != 1 || got[0].Code != 30 {
		t.Fatalf("the whole record before the truncated one: got %v", got)
	}
	if got, err := throughPipe(t); err != nil || len(got) != 0 {
		t.Fatalf("an empty stream: %v, %v; want no events and io.EOF", got, err)
	}
}

// run feeds events into a fresh translator of device 5 on a 1920×1080
// frame and returns the inputs.
func run(tr *evdev.Translator, evs ...evdev.Event) []components.Input {
	var out []components.Input
	for _, e := range evs {
		out = tr.Feed(e, out)
	}
	return out
}

func newTr() *evdev.Translator { return evdev.NewTranslator(5, evdev.NewCursor(1920, 1080)) }

func keyIn(code uint16, pressed bool) components.Input {
	return components.Input{Kind: components.InputKey, Device: 5, Key: code, Pressed: pressed}
}

func ptrIn(x, y float32, buttons uint32) components.Input {
	return components.Input{Kind: components.InputPointer, Device: 5, Pointer: [2]float32{x, y}, Buttons: buttons}
}

func check(t *testing.T, what string, got, want []components.Input) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func TestKeysPressRepeatRelease(t *testing.T) {
	tr := newTr()
	check(t, "a press before its SYN_REPORT", run(tr, key(30, 1)), nil)
	check(t, "the packet ends", run(tr, syn()), []components.Input{keyIn(30, true)})
	check(t, "autorepeat is a press", run(tr, key(30, 2), syn(), key(30, 2), syn()),
		[]components.Input{keyIn(30, true), keyIn(30, true)})
	check(t, "release", run(tr, key(30, 0), syn()), []components.Input{keyIn(30, false)})
	check(t, "a release of a key not held", run(tr, key(30, 0), syn()), nil)
	check(t, "shift's and caps lock's repeats are dropped",
		run(tr, key(42, 1), syn(), key(42, 2), syn(), key(58, 1), key(58, 2), syn(), key(58, 0), key(42, 0), syn()),
		[]components.Input{keyIn(42, true), keyIn(58, true), keyIn(58, false), keyIn(42, false)})
	check(t, "buttons of joysticks, code 0 and codes above KEY_MAX are not keys",
		run(tr, key(0x120, 1), key(0, 1), key(0x300, 1), key(0x2c0, 1), syn()), nil)
	check(t, "a key of the upper block (KEY_OK) is a key",
		run(tr, key(0x160, 1), syn()), []components.Input{keyIn(0x160, true)})
}

func TestPowerButtonIsASignalNotAKey(t *testing.T) {
	tr := newTr()
	got := run(tr, key(evdev.KeyPower, 1), syn(), key(evdev.KeyPower, 2), syn(), key(evdev.KeyPower, 0), syn())
	check(t, "power button", got, []components.Input{{Kind: components.InputSignal, Device: 5, Text: evdev.PowerButton}})
}

func TestSynDroppedDropsThePacketAndReleasesHeldKeys(t *testing.T) {
	tr := newTr()
	run(tr, key(42, 1), key(30, 1), rel(evdev.RelX, 10), key(evdev.BtnLeft, 1), syn()) // shift, a, left button held at 970,540
	got := run(tr, key(48, 1), dropped(), key(48, 0), key(31, 1), rel(evdev.RelX, 100), syn())
	check(t, "resync without the kernel's key state", got,
		[]components.Input{keyIn(30, false), keyIn(42, false), ptrIn(970, 540, 0)})
	check(t, "the release of a key pressed during the drop", run(tr, key(31, 0), syn()), nil)
	check(t, "after the drop", run(tr, key(32, 1), syn()), []components.Input{keyIn(32, true)})

	// With EVIOCGKEY's answer, what the kernel still holds stays held.
	tr = newTr()
	state := make([]byte, 96)
	state[42/8] |= 1 << (42 % 8)                         // shift
	state[evdev.BtnRight/8] |= 1 << (evdev.BtnRight % 8) // right button
	tr.KeyState = func() ([]byte, error) { return state, nil }
	run(tr, key(42, 1), key(30, 1), key(evdev.BtnLeft, 1), key(evdev.BtnRight, 1), syn())
	got = run(tr, dropped(), syn())
	check(t, "resync with the kernel's key state", got, []components.Input{keyIn(30, false), ptrIn(960, 540, 2)})
	check(t, "shift still held: its release is fed", run(tr, key(42, 0), syn()), []components.Input{keyIn(42, false)})
}

func TestRelativeMotionIsClampedToTheFrame(t *testing.T) {
	tr := newTr()
	check(t, "first motion from the centre", run(tr, rel(evdev.RelX, 3), rel(evdev.RelY, -4), syn()),
		[]components.Input{ptrIn(963, 536, 0)})
	check(t, "two packets, two positions", run(tr, rel(evdev.RelX, 1), syn(), rel(evdev.RelX, 1), syn()),
		[]components.Input{ptrIn(964, 536, 0), ptrIn(965, 536, 0)})
	check(t, "past the top-left corner", run(tr, rel(evdev.RelX, -5000), rel(evdev.RelY, -1<<31), syn()),
		[]components.Input{ptrIn(0, 0, 0)})
	check(t, "pushing against the corner moves nothing", run(tr, rel(evdev.RelX, -1), syn()), nil)
	check(t, "past the bottom-right corner", run(tr, rel(evdev.RelX, 1<<31-1), rel(evdev.RelY, 1<<31-1), syn()),
		[]components.Input{ptrIn(1919, 1079, 0)})
	check(t, "a wheel is not motion", run(tr, rel(8, 1), syn()), nil)
}

func TestButtons(t *testing.T) {
	tr := newTr()
	check(t, "press with motion: one input", run(tr, rel(evdev.RelX, 10), key(evdev.BtnLeft, 1), syn()),
		[]components.Input{ptrIn(970, 540, 1)})
	check(t, "right and middle", run(tr, key(evdev.BtnRight, 1), syn(), key(evdev.BtnMiddle, 1), syn()),
		[]components.Input{ptrIn(970, 540, 3), ptrIn(970, 540, 7)})
	check(t, "a button press repeated or already down", run(tr, key(evdev.BtnLeft, 2), key(evdev.BtnLeft, 1), syn()), nil)
	check(t, "releases", run(tr, key(evdev.BtnLeft, 0), key(evdev.BtnMiddle, 0), syn()),
		[]components.Input{ptrIn(970, 540, 2)})
	check(t, "a click inside one packet is not lost",
		run(tr, key(evdev.BtnLeft, 1), rel(evdev.RelX, 5), key(evdev.BtnLeft, 0), rel(evdev.RelX, 5), syn()),
		[]components.Input{ptrIn(975, 540, 3), ptrIn(980, 540, 2)}) // the motion before the second change goes with the first
	check(t, "the device goes: everything released", tr.Release(nil), []components.Input{ptrIn(980, 540, 0)})
}

func TestTabletScalesItsRangeToTheFrame(t *testing.T) {
	tr := newTr()
	tr.Abs = [2]*evdev.Axis{{Min: 0, Max: 32767}, {Min: 0, Max: 32767}}
	abs := func(code uint16, v int32) evdev.Event { return ev(evdev.EvAbs, code, v) }
	check(t, "corner", run(tr, abs(evdev.AbsX, 32767), abs(evdev.AbsY, 0), syn()), []components.Input{ptrIn(1919, 0, 0)})
	check(t, "one axis", run(tr, abs(evdev.AbsY, 32767), syn()), []components.Input{ptrIn(1919, 1079, 0)})
	check(t, "out of range is clamped", run(tr, abs(evdev.AbsX, -100), syn()), []components.Input{ptrIn(0, 1079, 0)})
	check(t, "middle", run(tr, abs(evdev.AbsX, 16384), abs(evdev.AbsY, 16384), syn()), []components.Input{ptrIn(960, 540, 0)})

	mouse := newTr() // no range: absolute events are ignored
	check(t, "no range", run(mouse, abs(evdev.AbsX, 5), syn()), nil)
}

func TestKeysReleasedWhenTheDeviceGoes(t *testing.T) {
	tr := newTr()
	run(tr, key(29, 1), key(46, 1), syn(), key(47, 1)) // ctrl+c held, v's packet unfinished
	check(t, "release", tr.Release(nil), []components.Input{keyIn(29, false), keyIn(46, false)})
}

func TestIoctlNumbersAreTheKernels(t *testing.T) {
	// From linux/input.h on x86_64 and arm64.
	for _, c := range []struct {
		got, want uintptr
	}{{evdev.EVIOCGNAME(256), 0x81004506}, {evdev.EVIOCGKEY(96), 0x80604518}, {evdev.EVIOCGABS(evdev.AbsX), 0x80184540}, {evdev.EVIOCGABS(evdev.AbsY), 0x80184541}} {
		if c.got != c.want {
			t.Errorf("ioctl %#x, want %#x", c.got, c.want)
		}
	}
}

// FuzzDecode feeds any bytes through the decoder and a translator: it
// never panics, and every input it makes is one the world accepts.
func FuzzDecode(f *testing.F) {
	var seed []byte
	for _, e := range []evdev.Event{key(30, 1), syn(), rel(evdev.RelX, -9000), key(evdev.BtnLeft, 1), dropped(), syn(), key(evdev.KeyPower, 1), syn()} {
		seed = e.Encode(seed)
	}
	f.Add(seed)
	f.Add(seed[:30])
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := evdev.NewDecoder(&chunky{data: data})
		tr := evdev.NewTranslator(1, evdev.NewCursor(1920, 1080))
		tr.Abs[0] = &evdev.Axis{Min: -5, Max: 5}
		var out []components.Input
		for {
			e, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, evdev.ErrTruncated) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.Is(err, evdev.ErrTruncated) != (len(data)%evdev.RecordSize != 0) {
					t.Fatalf("%d bytes: %v", len(data), err)
				}
				break
			}
			out = tr.Feed(e, out)
		}
		out = tr.Release(out)
		for _, in := range out {
			switch in.Kind {
			case components.InputKey:
				if in.Key < 1 || in.Key > evdev.KeyMax || in.Key == evdev.KeyPower {
					t.Fatalf("key %d", in.Key)
				}
			case components.InputPointer:
				if x, y := in.Pointer[0], in.Pointer[1]; !(x >= 0 && x < 1920 && y >= 0 && y < 1080) || in.Buttons&^7 != 0 {
					t.Fatalf("pointer %v buttons %d", in.Pointer, in.Buttons)
				}
			case components.InputSignal:
				if in.Text != evdev.PowerButton {
					t.Fatalf("signal %q", in.Text)
				}
			default:
				t.Fatalf("kind %d", in.Kind)
			}
		}
	})
}

// chunky returns its data in reads of varying size, as a pipe may.
type chunky struct {
	data []byte
	n    int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.n = c.n%29 + 1
	n := copy(p, c.data[:min(c.n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}
