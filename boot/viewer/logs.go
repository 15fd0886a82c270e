package viewer

import (
	"sync"
	"time"
)

// warnEvery is how often one kind of warning is logged at most: a flood
// of misbehaving clients must not flood stderr (the control socket's
// rule, docs/control.md).
const warnEvery = 10 * time.Second

// limiter logs a kind of warning at most once every warnEvery, with the
// number of the same warnings not logged since.
type limiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

// warn logs msg unless one like it was logged less than warnEvery ago.
func (s *Server) warn(msg string, args ...any) {
	l := &s.limit
	l.mu.Lock()
	if l.last == nil {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	now := time.Now()
	if now.Sub(l.last[msg]) < warnEvery {
		l.held[msg]++
		l.mu.Unlock()
		return
	}
	held := l.held[msg]
	l.last[msg], l.held[msg] = now, 0
	l.mu.Unlock()
	if held > 0 {
		args = append(args, "not_logged", held)
	}
	s.log.Warn(msg, args...)
}
