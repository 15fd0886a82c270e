package world

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// System is one step of the tick. Systems never call each other: they
// communicate only through components and world resources, in the order
// the Scheduler runs them.
type System interface {
	// Describe names the system and says what it reads and writes; the
	// scheduler prints it for `rayos boot --explain`.
	Describe() Description
	// Init prepares the system for w once, before the first tick: it builds
	// filters and maps and registers resources. A system must not keep
	// state that Init did not set up from w.
	Init(w *World) error
	// Run advances the system by one tick. It must not block on I/O and,
	// in steady state, must not allocate.
	Run(w *World)
}

// Description is what a system declares about itself.
type Description struct {
	// Name is short and stable: it appears in --explain, stats and markers.
	Name string
	// Purpose is one sentence.
	Purpose string
	// Reads and Writes name the components and resources touched.
	Reads, Writes []string
}

// SystemTiming is the wall-clock cost of one system, for tick statistics.
type SystemTiming struct {
	Name  string        `json:"name"`
	Last  time.Duration `json:"last_ns"`
	Max   time.Duration `json:"max_ns"`
	Total time.Duration `json:"total_ns"`
}

// TickStats is the world resource with wall-clock timing of the ticks. It
// is telemetry, not world state: it is excluded from snapshots because it
// differs between two otherwise identical runs.
type TickStats struct {
	Ticks   uint64         `json:"ticks"`
	Last    time.Duration  `json:"last_ns"`
	Max     time.Duration  `json:"max_ns"`
	Total   time.Duration  `json:"total_ns"`
	Systems []SystemTiming `json:"systems"`
}

// Scheduler runs an explicit, ordered list of systems once per tick.
type Scheduler struct {
	systems []System
	infos   []Description
}

// NewScheduler initialises each system on w, in order, and returns the
// schedule. An Init error names the system that failed.
func NewScheduler(w *World, systems ...System) (*Scheduler, error) {
	s := &Scheduler{systems: systems, infos: make([]Description, len(systems))}
	w.Stats.Systems = make([]SystemTiming, len(systems))
	for i, sys := range systems {
		s.infos[i] = sys.Describe()
		w.Stats.Systems[i].Name = s.infos[i].Name
		if err := sys.Init(w); err != nil {
			return nil, fmt.Errorf("init system %s: %w", s.infos[i].Name, err)
		}
	}
	return s, nil
}

// Systems returns the descriptions in run order.
func (s *Scheduler) Systems() []Description { return s.infos }

// Tick advances the clock by one tick and runs every system in order,
// timing each one.
func (s *Scheduler) Tick(w *World) {
	c := w.Clock
	c.Tick++
	c.SimNs = int64(c.Tick) * int64(c.Dt)
	stats := w.Stats
	start := time.Now()
	prev := start
	for i, sys := range s.systems {
		sys.Run(w)
		now := time.Now()
		d := now.Sub(prev)
		prev = now
		t := &stats.Systems[i]
		t.Last = d
		t.Total += d
		t.Max = max(t.Max, d)
	}
	d := prev.Sub(start)
	stats.Ticks++
	stats.Last = d
	stats.Total += d
	stats.Max = max(stats.Max, d)
}

// Explain writes the pipeline in run order, one system per paragraph.
func (s *Scheduler) Explain(out io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "RayOS tick pipeline (%d systems, run in this order every tick):\n", len(s.infos))
	for i, d := range s.infos {
		fmt.Fprintf(&b, "\n%2d. %s — %s\n", i+1, d.Name, d.Purpose)
		fmt.Fprintf(&b, "    reads:  %s\n", listOrNone(d.Reads))
		fmt.Fprintf(&b, "    writes: %s\n", listOrNone(d.Writes))
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "(nothing)"
	}
	return strings.Join(items, ", ")
}
