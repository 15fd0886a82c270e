package scene

import (
	"math/rand/v2"

	"github.com/rayos/engine/components"
)

// Churn is the world resource that makes a scene's workload move: tasks
// finish and new ones arrive, and devices now and then take heat from
// outside the scheduler's model (a neighbour's exhaust, a failing fan).
// A world settles once every task is placed; without churn the scheduler
// has nothing left to do after a few ticks, which is not what a control
// plane sees, nor what its benchmarks should measure.
//
// The scene builder adds it; the workload system (systems/workload) acts on
// it before every schedule, drawing everything from the world's seeded RNG,
// so a churning world stays deterministic. A world without a Churn (demo,
// desktop, overload) does not churn.
//
// Rates are per tick, not per second: the tick is the unit the world is
// replayed in, and a rate per tick keeps the work per tick the same at any
// --hz.
type Churn struct {
	// Finish is the chance that a task leaves the world in a tick (it
	// finished, or was withdrawn before it ever got a device). With
	// arrivals of Finish × Population per tick the task count stays at
	// Population: as many tasks arrive as finish.
	Finish float64
	// Population is the task count the arrivals sustain: the scene's own.
	Population int
	// HeatChance is the chance per tick that a device takes an external
	// heat event; the schedule system's thermal model then relaxes it.
	HeatChance float64
	// HeatC is how much one heat event warms its device, in °C.
	HeatC float32
	// NewTask draws an arriving task from the same distribution as the
	// scene's own tasks, with the world's RNG.
	NewTask func(r *rand.Rand) components.ComputeTask

	// What the workload system did so far: world state, deterministic
	// like the rest (same seed, same counts).
	Finished, Arrived, Heated uint64
}
