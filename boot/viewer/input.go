package viewer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// The page is an input device: keys typed and the pointer moved over the
// frame canvas arrive as {"t":"input"} messages and enter the world's
// inbox as components.Input — exactly what a journal's key and pointer
// lines become, so --record keeps them and a replay feeds them again.
// The viewer only delivers them; the input broker routes them to the
// focused surface and through the policy gate.

// Input kinds a page sends.
const (
	InputKindKey     = "key"
	InputKindPointer = "pointer"
)

// Limits of the page's inputs.
const (
	// KeyMax is the highest Linux input key code (KEY_MAX, 0x2ff).
	KeyMax = 0x2ff
	// ButtonMask holds the pointer buttons a page may press: bit 1 left,
	// 2 right, 4 middle (a PointerEvent's own buttons mask).
	ButtonMask = 1 | 2 | 4
	// DefaultInputRate bounds the inputs one client sends per second
	// (and the burst it may send at once): typing at 15 characters a
	// second is 30, a pointer moved at the page's 60 moves a second
	// another 60.
	DefaultInputRate = 200
	// inputQueue bounds the inputs of all clients waiting for the next
	// tick (a paused world feeds them only when it ticks again).
	inputQueue = 256
)

// checkInput checks an input message's shape; the frame's bounds are
// checked by the client, which knows the frame.
func checkInput(m *Inbound) error {
	switch m.Kind {
	case InputKindKey:
		if m.X != nil || m.Y != nil || m.Buttons != nil {
			return errors.New(`input key: "x", "y" and "buttons" belong to pointer inputs`)
		}
		if m.Key == nil {
			return errors.New(`input key: no "key" (a Linux input key code, KEY_A = 30)`)
		}
		if *m.Key < 1 || *m.Key > KeyMax {
			return fmt.Errorf("input key: key %d is not a Linux input key code (1…%d)", *m.Key, KeyMax)
		}
		if m.Pressed == nil {
			return errors.New(`input key: no "pressed" (true: key down, false: key up)`)
		}
	case InputKindPointer:
		if m.Key != nil || m.Pressed != nil {
			return errors.New(`input pointer: "key" and "pressed" belong to key inputs`)
		}
		if m.X == nil || m.Y == nil {
			return errors.New(`input pointer: no "x" and "y" (framebuffer pixels)`)
		}
		for _, v := range []float64{*m.X, *m.Y} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return fmt.Errorf("input pointer: position %v, %v is not inside the frame", *m.X, *m.Y)
			}
		}
		if m.Buttons != nil && (*m.Buttons < 0 || *m.Buttons&^ButtonMask != 0) {
			return fmt.Errorf("input pointer: buttons %d is not a mask of 1 (left), 2 (right), 4 (middle)", *m.Buttons)
		}
	default:
		return fmt.Errorf("unknown input kind %q (want key or pointer)", m.Kind)
	}
	return nil
}

// toInput is the world's form of a checked input message from device;
// width and height are the frame's, in pixels.
func toInput(m *Inbound, device uint32, width, height int) (components.Input, error) {
	in := components.Input{Device: device}
	switch m.Kind {
	case InputKindKey:
		in.Kind, in.Key, in.Pressed = components.InputKey, uint16(*m.Key), *m.Pressed
	case InputKindPointer:
		// Checked as the world will hold it: 1919.99999999 is 1920 in
		// float32, outside a 1920-pixel-wide frame.
		x, y := float32(*m.X), float32(*m.Y)
		if width <= 0 || height <= 0 {
			return in, errors.New("input pointer: this world has no frame to point at")
		}
		if x >= float32(width) || y >= float32(height) {
			return in, fmt.Errorf("input pointer: position %v, %v is not inside the %d×%d frame", *m.X, *m.Y, width, height)
		}
		in.Kind, in.Pointer = components.InputPointer, [2]float32{x, y}
		if m.Buttons != nil {
			in.Buttons = uint32(*m.Buttons)
		}
	}
	return in, nil
}

// inputs is the queue between the clients' readers and the tick: what
// the pages sent since the last tick, fed into the inbox before the next
// one (BeforeTick). A pointer move (buttons as they were) replaces the
// same device's previous move when nothing of that device came between
// them: the world sees at most one position per device between two
// presses or releases, and every press and release where it happened.
type inputs struct {
	mu sync.Mutex
	q  []queued
}

type queued struct {
	in   components.Input
	move bool
}

var errInputsFull = fmt.Errorf("RayOS is overloaded: %d inputs already wait for the tick; try again", inputQueue)

// add queues in (move: a pointer input that changes no button); a full
// queue refuses it.
func (b *inputs) add(in components.Input, move bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if move {
		for i := len(b.q) - 1; i >= 0; i-- {
			if b.q[i].in.Device != in.Device {
				continue
			}
			if b.q[i].move {
				b.q[i].in.Pointer = in.Pointer
				return nil
			}
			break
		}
	}
	if len(b.q) >= inputQueue {
		return errInputsFull
	}
	b.q = append(b.q, queued{in, move})
	return nil
}

// feed moves the queued inputs into the world's inbox, in the order they
// arrived.
func (b *inputs) feed(w *world.World) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, q := range b.q {
		w.Inbox.Feed(w.Clock, q.in)
	}
	b.q = b.q[:0]
}

// rate is one client's budget of inputs: a token bucket of rate per
// second holding at most rate. Only the client's reader touches it.
type rate struct {
	per     float64
	tokens  float64
	last    time.Time
	refused int // in a row, since the last input let through
}

// allow spends one token if there is one.
func (r *rate) allow(now time.Time) bool {
	if r.last.IsZero() {
		r.tokens = r.per
	} else {
		r.tokens = min(r.per, r.tokens+now.Sub(r.last).Seconds()*r.per)
	}
	r.last = now
	if r.tokens < 1 {
		r.refused++
		return false
	}
	r.tokens--
	r.refused = 0
	return true
}
