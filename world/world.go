package world

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world/marker"
)

// Config is the world's run configuration, fixed at creation.
type Config struct {
	// Seed feeds the world's RNG; with the journal it fully determines a run.
	Seed uint64 `json:"seed"`
	// Hz is the tick rate; each tick advances simulation time by 1/Hz.
	Hz float64 `json:"hz"`
	// Scene names the scene the world was built from ("demo", …).
	Scene string `json:"scene"`
}

// Clock is simulation time. It advances by exactly Dt per tick, never by the
// wall clock.
type Clock struct {
	// Tick is the number of the tick being run (1 for the first), or of the
	// last one completed between ticks. 0 before the first tick.
	Tick uint64 `json:"tick"`
	// Dt is the fixed duration of one tick.
	Dt time.Duration `json:"dt_ns"`
	// SimNs is Tick × Dt in nanoseconds.
	SimNs int64 `json:"sim_ns"`
}

// RunState lets systems ask the runtime to stop after the current tick.
type RunState struct {
	// StopReason is empty while running; a system sets it to say why the
	// world should stop ("signal SIGTERM").
	StopReason string
}

// World is the ECS world plus its typed resources. Every resource is also
// registered as an ark resource, so generic tools can reach it by type.
type World struct {
	ECS     *ecs.World
	Config  *Config
	Clock   *Clock
	RNG     *rand.Rand
	Stats   *TickStats
	Markers *marker.Bus
	Inbox   *Inbox
	Run     *RunState
	Focus   *components.Focus
	// Logger receives diagnostics (log/slog); markers, not logs, are the
	// contract. Defaults to slog.Default().
	Logger *slog.Logger
}

// Log returns the world's logger.
func (w *World) Log() *slog.Logger { return w.Logger }

// New creates an empty world. markers receives every marker the world
// emits; nil discards them.
func New(cfg Config, markers *marker.Bus) *World {
	if markers == nil {
		markers = marker.NewBus()
	}
	if cfg.Hz <= 0 {
		cfg.Hz = DefaultHz
	}
	w := &World{
		ECS:     ecs.NewWorld(1024),
		Config:  &cfg,
		Clock:   &Clock{Dt: time.Duration(float64(time.Second) / cfg.Hz)},
		RNG:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		Stats:   &TickStats{},
		Markers: markers,
		Inbox:   &Inbox{},
		Run:     &RunState{},
		Focus:   &components.Focus{},
		Logger:  slog.Default(),
	}
	ecs.AddResource(w.ECS, w.Config)
	ecs.AddResource(w.ECS, w.Clock)
	ecs.AddResource(w.ECS, w.RNG)
	ecs.AddResource(w.ECS, w.Stats)
	ecs.AddResource(w.ECS, w.Markers)
	ecs.AddResource(w.ECS, w.Inbox)
	ecs.AddResource(w.ECS, w.Run)
	ecs.AddResource(w.ECS, w.Focus)
	return w
}

// DefaultHz is the tick rate when none is configured.
const DefaultHz = 60

// MaxHz bounds the tick rate: above it a tick is shorter than the
// scheduler's own timing resolution is useful for.
const MaxHz = 10000

// MinHz bounds the tick rate from below: a tick of 1/MinHz = 1000 s is
// already longer than any use of RayOS needs, and keeps the tick's Dt
// (time.Duration, nanoseconds in an int64, at most ≈ 292 years) and the
// simulation time of long runs far from overflow. Below it, 1e-300 Hz
// passed validation and the tick length overflowed into a panic.
const MinHz = 0.001

// Emit sends a marker to the world's bus.
func (w *World) Emit(m marker.Marker) { w.Markers.Emit(m) }

// Ref turns an entity into plain data that components can hold.
func Ref(e ecs.Entity) components.EntityRef {
	return components.EntityRef{ID: e.ID(), Gen: e.Gen()}
}

// Resolve turns a reference back into a live entity. It reports false for
// the zero reference and for an entity that has died or been recycled since
// the reference was taken.
func (w *World) Resolve(ref components.EntityRef) (ecs.Entity, bool) {
	if ref.ID == 0 {
		return ecs.Entity{}, false
	}
	// ark builds entities only internally; its binary encoding is the
	// documented way to carry one through serialised data and back.
	var buf [8]byte
	binary.BigEndian.PutUint32(buf[0:4], ref.ID)
	binary.BigEndian.PutUint32(buf[4:8], ref.Gen)
	var e ecs.Entity
	if err := e.UnmarshalBinary(buf[:]); err != nil {
		return ecs.Entity{}, false
	}
	if !w.ECS.Alive(e) {
		return ecs.Entity{}, false
	}
	return e, true
}
