package marker

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Spool is a writer that never blocks its caller: each Write (one line)
// is copied into a bounded buffer that a goroutine of its own drains into
// the underlying writer, in order. The marker bus writes stdout through
// one, so a terminal or pipe that nobody reads cannot stall the tick (the
// bus writes under its lock, from the tick).
//
// When the buffer is full the line is dropped and counted. The first line
// that fits again is preceded by a gap line, made by the gap function from
// the count (for stdout: RAYOS_AUDIT:markers-dropped:sink=stdout count=N),
// so a reader sees exactly where lines are missing and how many. Lines are
// never reordered, and never written in part.
type Spool struct {
	mu      sync.Mutex
	out     io.Writer
	limit   int
	pending []byte // lines waiting for the drain goroutine
	spare   []byte // the drain goroutine's buffer, swapped with pending
	gap     func(dropped uint64) []byte
	// dropped counts the lines of the current gap, total every line
	// dropped so far.
	dropped, total uint64
	closed         bool
	inflight       int   // bytes the drain goroutine is writing now
	err            error // the first error of the underlying writer
	wake           chan struct{}
	done           chan struct{}

	// OnDrop, if set, is called (without the spool's lock) when a gap
	// begins, and OnGap when it is reported in the stream. Set them before
	// the first Write.
	OnDrop func()
	OnGap  func(dropped uint64)
}

// NewSpool starts a spool that holds up to limit bytes of lines not yet
// written to out; gap formats the line (newline-terminated) that reports
// dropped lines.
func NewSpool(out io.Writer, limit int, gap func(dropped uint64) []byte) *Spool {
	s := &Spool{out: out, limit: limit, gap: gap, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.drain()
	return s
}

// GapLine is the gap line of a marker stream written to sink:
// RAYOS_AUDIT:markers-dropped:sink=<sink> count=<n>.
func GapLine(sink string) func(dropped uint64) []byte {
	return func(n uint64) []byte {
		return []byte(Audit("markers-dropped", fmt.Sprintf("sink=%s count=%d", sink, n)).String() + "\n")
	}
}

// Write queues p (one whole line) and returns at once. It never fails:
// a line that does not fit is dropped and counted, and an error of the
// underlying writer is kept for Close.
func (s *Spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	began, reported := s.queueLocked(p)
	s.mu.Unlock()
	if began && s.OnDrop != nil {
		s.OnDrop()
	}
	if reported > 0 && s.OnGap != nil {
		s.OnGap(reported)
	}
	return len(p), nil
}

// queueLocked appends p, preceded by the gap line if lines were dropped
// before it, or drops it. It reports whether a gap began and the size of
// a gap it reported.
func (s *Spool) queueLocked(p []byte) (began bool, reported uint64) {
	if s.closed {
		return false, 0
	}
	var gap []byte
	if s.dropped > 0 {
		gap = s.gap(s.dropped)
	}
	// Once lines are being dropped, the spool resumes only when the
	// reader has taken half the buffer: a short line that happens to fit
	// behind a long one dropped would otherwise split one outage into
	// several gaps, and a reader could not tell where the stream resumed.
	resume := s.dropped == 0 || len(s.pending) <= s.limit/2
	if !resume || len(s.pending)+len(gap)+len(p) > s.limit {
		s.dropped++
		s.total++
		return s.dropped == 1, 0
	}
	reported, s.dropped = s.dropped, 0
	s.pending = append(append(s.pending, gap...), p...)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return false, reported
}

// drain writes what is pending, batch by batch, until Close.
func (s *Spool) drain() {
	defer close(s.done)
	for {
		<-s.wake
		s.mu.Lock()
		batch := s.pending
		s.pending, s.spare = s.spare[:0], nil
		s.inflight = len(batch)
		closed := s.closed
		s.mu.Unlock()
		if len(batch) > 0 {
			if _, err := s.out.Write(batch); err != nil {
				s.mu.Lock()
				if s.err == nil {
					s.err = err
				}
				s.mu.Unlock()
			}
		}
		s.mu.Lock()
		s.spare, s.inflight = batch[:0], 0
		more := len(s.pending) > 0
		s.mu.Unlock()
		if more {
			select {
			case s.wake <- struct{}{}:
			default:
			}
			continue
		}
		if closed {
			return
		}
	}
}

// Dropped counts every line dropped so far.
func (s *Spool) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Close stops taking lines, reports a gap still open at the end (the gap
// line is then the stream's last line), and waits up to wait for the rest
// to be written: a reader that never reads must not keep the process from
// exiting. It returns the underlying writer's first error, or says how
// much was left unwritten.
func (s *Spool) Close(wait time.Duration) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	reported := s.dropped
	if reported > 0 {
		s.pending = append(s.pending, s.gap(reported)...)
		s.dropped = 0
	}
	s.closed = true
	s.mu.Unlock()
	if reported > 0 && s.OnGap != nil {
		s.OnGap(reported)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-s.done:
	case <-timer.C:
		s.mu.Lock()
		defer s.mu.Unlock()
		return fmt.Errorf("output not read: %d bytes still unwritten after %v", s.inflight+len(s.pending), wait)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
