package viewer

import (
	"fmt"
	"sync/atomic"
)

// Pace is what the runtime's loop does next (Server.Gate).
type Pace uint8

const (
	// PaceNormal: tick when the pace says (Hz), as without a viewer.
	PaceNormal Pace = iota
	// PaceHold: do not tick; wait for something to do (paused).
	PaceHold
	// PaceNow: tick now, without waiting for the pace (a step or a seek).
	PaceNow
)

// pacer is the tick control the page drives. Everything is an atomic:
// the tick goroutine reads it once per loop and must never wait for a
// client's goroutine.
type pacer struct {
	controllable bool
	paused       atomic.Bool
	steps        atomic.Int64
	// target is a seek's tick + 1 (0: none); the loop ticks without
	// pacing until it reaches it.
	target atomic.Uint64
	// rewind asks the run to end so that the replay starts again and
	// seeks to rewindTo (seeking backwards in a journal).
	rewind   atomic.Bool
	rewindTo atomic.Uint64
	// end is a replayed journal's last tick: the run holds there.
	end atomic.Uint64
	// now is the last tick completed.
	now atomic.Uint64
}

// apply carries out one control message.
func (p *pacer) apply(m *Inbound, seek bool) error {
	switch m.Op {
	case ControlPause:
		p.paused.Store(true)
		p.steps.Store(0)
		p.target.Store(0)
	case ControlResume:
		p.steps.Store(0)
		p.target.Store(0)
		p.paused.Store(false)
	case ControlStep:
		p.paused.Store(true)
		p.steps.Add(int64(max(m.Count, 1)))
	case ControlSeek:
		if !seek {
			return fmt.Errorf("control seek: only a replayed journal (rayos view JOURNAL) can seek; step instead")
		}
		t := m.Tick
		if end := p.end.Load(); end > 0 && t > end {
			t = end
		}
		p.paused.Store(true)
		p.steps.Store(0)
		if t >= p.now.Load() {
			p.target.Store(t + 1)
			return nil
		}
		p.target.Store(0)
		p.rewindTo.Store(t)
		p.rewind.Store(true)
	}
	return nil
}

// Gate says whether the runtime's loop may tick now, after tick ticks.
// Without --debug (and outside a replay) it is always PaceNormal.
func (s *Server) Gate(tick uint64) Pace {
	p := &s.pace
	if !p.controllable {
		return PaceNormal
	}
	if p.rewind.Load() {
		return PaceHold // the loop ends the run (Rewinding)
	}
	if end := p.end.Load(); end > 0 && tick >= end {
		p.steps.Store(0)
		p.target.Store(0)
		return PaceHold
	}
	if t := p.target.Load(); t > 0 {
		if tick+1 < t {
			return PaceNow
		}
		p.target.Store(0)
	}
	if p.steps.Load() > 0 {
		return PaceNow
	}
	if p.paused.Load() {
		return PaceHold
	}
	return PaceNormal
}

// Rewinding reports that the page seeked backwards in a replay: the run
// should end, and start again (TakeRewind).
func (s *Server) Rewinding() bool { return s.pace.rewind.Load() }

// TakeRewind clears a rewind request and returns the tick to seek to in
// the new run, and whether there was one.
func (s *Server) TakeRewind() (uint64, bool) {
	if !s.pace.rewind.Swap(false) {
		return 0, false
	}
	t := s.pace.rewindTo.Load()
	if t > 0 {
		s.pace.target.Store(t + 1)
	}
	s.pace.paused.Store(true)
	return t, true
}

// SetEnd tells a journal's viewer the journal's last tick: the replay
// holds there instead of ending, and the scrubber spans it.
func (s *Server) SetEnd(tick uint64) { s.pace.end.Store(tick) }

// Linger reports that the run should not end at its last tick but hold
// there, still served (a replay in rayos view).
func (s *Server) Linger() bool { return s.mode == ModeJournal }

// Pause holds the tick from the start (a replay opens paused at tick 0).
func (s *Server) Pause() { s.pace.paused.Store(true) }
