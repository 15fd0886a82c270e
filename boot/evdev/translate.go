package evdev

import (
	"sync"

	"github.com/rayos/engine/components"
)

// PowerButton is the InputSignal text a KEY_POWER press becomes: the
// world stops as for SIGTERM, with the shutdown reason
// signal-power-button (docs/markers.md).
const PowerButton = "power-button"

// Button bits of components.Input.Buttons (as the viewer's page and
// browsers number them).
const (
	ButtonLeft   = 1
	ButtonRight  = 2
	ButtonMiddle = 4
)

// maxPacket bounds the events of one packet: a stream that sends more
// without a SYN_REPORT is treated as if the kernel had dropped them.
const maxPacket = 1024

// Cursor is the one pointer that every pointing device of a [Devices]
// moves (like X's core pointer): relative mice move it, tablets place it.
// It starts at the centre of the frame and never leaves it.
type Cursor struct {
	mu   sync.Mutex
	x, y int64
	w, h int64
}

// NewCursor is a cursor in the centre of a width×height frame (at least
// one pixel each way).
func NewCursor(width, height int) *Cursor {
	w, h := max(int64(width), 1), max(int64(height), 1)
	return &Cursor{x: w / 2, y: h / 2, w: w, h: h}
}

// Pos is the cursor's position in framebuffer pixels.
func (c *Cursor) Pos() [2]float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return [2]float32{float32(c.x), float32(c.y)}
}

func (c *Cursor) move(dx, dy int64) [2]float32 {
	c.mu.Lock()
	c.x = min(max(c.x+dx, 0), c.w-1)
	c.y = min(max(c.y+dy, 0), c.h-1)
	c.mu.Unlock()
	return c.Pos()
}

// place puts the cursor at the fractions fx, fy (in [0, 1]) of the frame
// along the axes that have one (ok).
func (c *Cursor) place(fx, fy float64, okX, okY bool) [2]float32 {
	c.mu.Lock()
	if okX {
		c.x = min(max(int64(fx*float64(c.w-1)+0.5), 0), c.w-1)
	}
	if okY {
		c.y = min(max(int64(fy*float64(c.h-1)+0.5), 0), c.h-1)
	}
	c.mu.Unlock()
	return c.Pos()
}

// Axis is an absolute axis's range (struct input_absinfo's minimum and
// maximum, from EVIOCGABS): a tablet's ABS_X or ABS_Y.
type Axis struct{ Min, Max int32 }

func (a *Axis) usable() bool { return a != nil && a.Max > a.Min }

// fraction is where v lies in the range, clamped to [0, 1].
func (a *Axis) fraction(v int32) float64 {
	f := (float64(v) - float64(a.Min)) / (float64(a.Max) - float64(a.Min))
	return min(max(f, 0), 1)
}

// Translator follows the evdev protocol for one device and turns its
// packets into inputs. It is not safe for concurrent use: one reader owns
// it.
type Translator struct {
	// Device is the inputs' Device (the eventN number).
	Device uint32
	// Abs are the ranges of ABS_X and ABS_Y when the device has them (a
	// tablet); without a range, absolute events are ignored.
	Abs [2]*Axis
	// KeyState, when set, reads the keys and buttons the kernel holds
	// down (EVIOCGKEY, a bit per code) to resynchronise after
	// SYN_DROPPED; without it every held key and button is released.
	KeyState func() ([]byte, error)

	cursor *Cursor
	packet []Event
	// dropping: a SYN_DROPPED came; events are discarded until the next
	// SYN_REPORT.
	dropping bool
	// held are the keys whose press was fed and whose release was not;
	// buttons the mask last fed; pos the position last fed (known).
	held    [KeyMax + 1]bool
	nHeld   int
	buttons uint32
	pos     [2]float32
	known   bool
}

// NewTranslator translates the events of device, moving cursor.
func NewTranslator(device uint32, cursor *Cursor) *Translator {
	return &Translator{Device: device, cursor: cursor}
}

// Feed takes one event and appends the inputs it completes (at a
// SYN_REPORT, the packet's; otherwise none) to out.
func (t *Translator) Feed(ev Event, out []components.Input) []components.Input {
	if ev.Type != EvSyn {
		if t.dropping {
			return out
		}
		if len(t.packet) >= maxPacket {
			t.dropping, t.packet = true, t.packet[:0]
			return out
		}
		t.packet = append(t.packet, ev)
		return out
	}
	switch ev.Code {
	case SynDropped:
		// The kernel's buffer overflowed: this packet is incomplete, and
		// so is everything until the next SYN_REPORT.
		t.dropping, t.packet = true, t.packet[:0]
	case SynReport:
		if t.dropping {
			t.dropping = false
			return t.resync(out)
		}
		out = t.apply(out)
		t.packet = t.packet[:0]
	}
	return out
}

// Release ends the device: every held key is released and the buttons
// let go, so that the broker keeps no stuck modifier or button for it.
func (t *Translator) Release(out []components.Input) []components.Input {
	t.packet, t.dropping = t.packet[:0], false
	return t.releaseExcept(nil, out)
}

// resync releases what the kernel no longer holds (everything when its
// state cannot be read). Keys pressed during the drop are not pressed
// now: their presses were lost, and their releases will be dropped as
// releases of keys not held.
func (t *Translator) resync(out []components.Input) []components.Input {
	var state []byte
	if t.KeyState != nil {
		if s, err := t.KeyState(); err == nil {
			state = s
		}
	}
	return t.releaseExcept(state, out)
}

// releaseExcept releases the held keys and buttons whose bit is clear in
// state (all when state is nil).
func (t *Translator) releaseExcept(state []byte, out []components.Input) []components.Input {
	down := func(code int) bool { return code/8 < len(state) && state[code/8]&(1<<(code%8)) != 0 }
	for code := 1; t.nHeld > 0 && code <= KeyMax; code++ {
		if t.held[code] && !down(code) {
			t.held[code] = false
			t.nHeld--
			out = append(out, t.key(uint16(code), false))
		}
	}
	buttons := t.buttons
	for _, b := range [...]struct {
		code int
		bit  uint32
	}{{BtnLeft, ButtonLeft}, {BtnRight, ButtonRight}, {BtnMiddle, ButtonMiddle}} {
		if !down(b.code) {
			buttons &^= b.bit
		}
	}
	if buttons != t.buttons {
		out = t.pointer(t.cursor.Pos(), buttons, out)
	}
	return out
}

// apply turns a complete packet into inputs, in the packet's order; the
// pointer's motion and buttons become one pointer input at its end (or
// more, when a button changes twice in one packet).
func (t *Translator) apply(out []components.Input) []components.Input {
	var dx, dy int64
	var abs [2]int32
	var hasAbs [2]bool
	buttons := t.buttons
	flush := func() {
		pos, moved := t.cursor.Pos(), false
		if dx != 0 || dy != 0 {
			pos, moved = t.cursor.move(dx, dy), true
			dx, dy = 0, 0
		}
		if hasAbs[0] || hasAbs[1] {
			var f [2]float64
			for i := range f {
				if hasAbs[i] {
					f[i] = t.Abs[i].fraction(abs[i])
				}
			}
			pos, moved = t.cursor.place(f[0], f[1], hasAbs[0], hasAbs[1]), true
			hasAbs = [2]bool{}
		}
		if buttons != t.buttons || moved && (!t.known || pos != t.pos) {
			out = t.pointer(pos, buttons, out)
		}
	}
	for _, ev := range t.packet {
		switch ev.Type {
		case EvRel:
			switch ev.Code {
			case RelX:
				dx += int64(ev.Value)
			case RelY:
				dy += int64(ev.Value)
			}
		case EvAbs:
			if ev.Code <= AbsY && t.Abs[ev.Code].usable() {
				abs[ev.Code], hasAbs[ev.Code] = ev.Value, true
			}
		case EvKey:
			if bit := buttonBit(ev.Code); bit != 0 {
				if ev.Value == 2 || (buttons&bit != 0) == (ev.Value != 0) {
					continue // a repeat, or no change
				}
				if (buttons^t.buttons)&bit != 0 {
					flush() // the same button changes twice in one packet: both count
				}
				buttons ^= bit
				continue
			}
			out = t.keyEvent(ev, out)
		}
	}
	flush()
	return out
}

// keyEvent handles EV_KEY for a key (not a button).
func (t *Translator) keyEvent(ev Event, out []components.Input) []components.Input {
	code := ev.Code
	switch {
	case code == KeyPower:
		if ev.Value == 1 {
			out = append(out, components.Input{Kind: components.InputSignal, Device: t.Device, Text: PowerButton})
		}
		return out
	case code == 0 || code > KeyMax || isButton(code):
		return out // buttons of joysticks, pens and touchpads: not RayOS's yet
	}
	switch ev.Value {
	case 0:
		if !t.held[code] {
			return out // released by a resync already (or never pressed)
		}
		t.held[code] = false
		t.nHeld--
		return append(out, t.key(code, false))
	case 1, 2:
		if ev.Value == 2 && noRepeat(code) {
			return out
		}
		if !t.held[code] {
			t.held[code] = true
			t.nHeld++
		}
		// A repeat is fed as another press: a guest receives each press
		// as its own keystroke, so a held key repeats there as here.
		return append(out, t.key(code, true))
	}
	return out
}

func (t *Translator) key(code uint16, pressed bool) components.Input {
	return components.Input{Kind: components.InputKey, Device: t.Device, Key: code, Pressed: pressed}
}

func (t *Translator) pointer(pos [2]float32, buttons uint32, out []components.Input) []components.Input {
	t.pos, t.known, t.buttons = pos, true, buttons
	return append(out, components.Input{Kind: components.InputPointer, Device: t.Device, Pointer: pos, Buttons: buttons})
}

// buttonBit is the Buttons bit of a mouse button code, 0 for any other.
func buttonBit(code uint16) uint32 {
	switch code {
	case BtnLeft:
		return ButtonLeft
	case BtnRight:
		return ButtonRight
	case BtnMiddle:
		return ButtonMiddle
	}
	return 0
}

func isButton(code uint16) bool {
	return code >= BtnMisc && code <= BtnLast || code >= BtnTriggerHappy && code <= KeyMax
}

// noRepeat are the keys whose autorepeat is dropped: modifiers (a repeat
// changes nothing the broker keeps) and locks (a repeat would toggle the
// lock again in a guest).
func noRepeat(code uint16) bool {
	switch code {
	case 29, 97, 42, 54, 56, 100, 125, 126, // ctrl, shift, alt, meta: left and right
		58, 69, 70: // caps lock, num lock, scroll lock
		return true
	}
	return false
}
