package evdev

import (
	"sync"
	"testing"

	"github.com/rayos/engine/components"
)

func ptr(dev uint32, x float32, buttons uint32) components.Input {
	return components.Input{Kind: components.InputPointer, Device: dev, Pointer: [2]float32{x, 0}, Buttons: buttons}
}

// The queue coalesces moves like the viewer's: per device, only with the
// device's last queued input, and never across a button change or a key.
func TestQueueCoalescesMovesOnly(t *testing.T) {
	d := &Devices{o: Options{Queue: 100}, last: map[uint32]uint32{}}
	d.cond = sync.NewCond(&d.mu)
	key := components.Input{Kind: components.InputKey, Device: 1, Key: 30, Pressed: true}
	d.push([]components.Input{
		ptr(1, 1, 0),               // the device's first pointer input: not a move (nothing to compare with)
		ptr(1, 2, 0), ptr(1, 3, 0), // moves: one
		ptr(2, 50, 0), ptr(2, 51, 0), // another device's: its own
		ptr(1, 4, 0),               // device 1's last queued is device 1's move: folded in
		ptr(1, 5, 1),               // a press: kept
		ptr(1, 6, 1), ptr(1, 7, 1), // moves while held: one
		key, ptr(1, 8, 1), // a key between: the move after it is its own
		ptr(1, 9, 0), // release
	})
	var got []float32
	for _, q := range d.q {
		got = append(got, q.in.Pointer[0])
	}
	want := []float32{1, 4, 50, 51, 5, 7, 0, 8, 9}
	if len(got) != len(want) {
		t.Fatalf("queued %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("queued %v, want %v", got, want)
		}
	}
}
