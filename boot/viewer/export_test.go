package viewer

import "time"

// SetClock replaces the clock of the clients' input budgets, before any
// client connects: a frozen clock makes a flood a flood however slowly
// the test sends it.
func SetClock(s *Server, now func() time.Time) { s.now = now }
