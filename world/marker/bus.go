package marker

import (
	"io"
	"sync"
	"sync/atomic"
)

// recentLines is how many formatted lines a Bus keeps for crash reports.
const recentLines = 64

// Bus formats markers and delivers them, in emission order, to every sink
// and subscriber. It is safe for concurrent use; lines from concurrent
// emitters never interleave.
type Bus struct {
	mu      sync.Mutex
	sinks   []io.Writer
	subs    []*Subscription
	recent  [recentLines]string
	next    int // index in recent of the next line
	emitted uint64
	err     error // first sink write error, reported by Err
	line    []byte
}

// NewBus returns a bus that writes every line to each of sinks.
func NewBus(sinks ...io.Writer) *Bus {
	return &Bus{sinks: sinks}
}

// AddSink adds a writer that receives every later line.
func (b *Bus) AddSink(w io.Writer) {
	b.mu.Lock()
	b.sinks = append(b.sinks, w)
	b.mu.Unlock()
}

// AddSinkWithHistory adds a writer and first writes it the lines emitted
// before (up to the last 64), so that a log opened during boot still holds
// the boot's first markers, in order.
func (b *Bus) AddSinkWithHistory(w io.Writer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, line := range b.recentLocked() {
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	b.sinks = append(b.sinks, w)
	return nil
}

// Emit formats m and writes it, newline-terminated, to each sink with one
// Write call, then hands it to the subscribers. A sink that fails does not
// stop the others; the first error is kept for Err.
func (b *Bus) Emit(m Marker) {
	line := m.String()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.line = append(append(b.line[:0], line...), '\n')
	for _, w := range b.sinks {
		if _, err := w.Write(b.line); err != nil && b.err == nil {
			b.err = err
		}
	}
	b.recent[b.next] = line
	b.next = (b.next + 1) % recentLines
	b.emitted++
	for _, s := range b.subs {
		s.deliver(m)
	}
}

// Err returns the first error a sink reported, if any.
func (b *Bus) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Emitted counts the markers emitted so far.
func (b *Bus) Emitted() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.emitted
}

// Recent returns up to the last 64 lines, oldest first.
func (b *Bus) Recent() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recentLocked()
}

func (b *Bus) recentLocked() []string {
	n := min(b.emitted, recentLines)
	out := make([]string, 0, n)
	start := (b.next - int(n) + recentLines) % recentLines
	for i := 0; i < int(n); i++ {
		out = append(out, b.recent[(start+i)%recentLines])
	}
	return out
}

// Subscription receives markers emitted after Subscribe. The emitter never
// waits for a subscriber: when C is full the marker is dropped for this
// subscriber and counted in Dropped, because a slow viewer must not stall
// the tick.
type Subscription struct {
	C       <-chan Marker
	c       chan Marker
	bus     *Bus
	dropped atomic.Uint64
	closed  bool
}

// Subscribe returns a subscription whose channel buffers up to buffer
// markers.
func (b *Bus) Subscribe(buffer int) *Subscription {
	c := make(chan Marker, buffer)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

func (s *Subscription) deliver(m Marker) {
	select {
	case s.c <- m:
	default:
		s.dropped.Add(1)
	}
}

// Dropped counts markers this subscriber missed because its buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery and closes C. It is safe to call more than once.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			break
		}
	}
	close(s.c)
}
