// Package gpusync holds the system that drives the GPU's work: [Submit]
// runs last in the tick. It first collects the run submitted at the end of
// the previous tick — which ran on the device while this tick's systems
// ran on the CPU — then uploads what this tick changed and starts the next
// run. Systems therefore read results computed from the world as it was
// two ticks earlier (the mirror's ResultsTick says which tick); the lag is
// the same on every backend, so replays stay exact.
package gpusync

import (
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Submit collects the GPU run in flight and starts the next one.
type Submit struct{ mirror *gpu.Mirror }

// NewSubmit returns the submit system.
func NewSubmit() *Submit { return &Submit{} }

// Describe implements world.System.
func (s *Submit) Describe() world.Description {
	return world.Description{
		Name:    "gpu-submit",
		Purpose: "collect the GPU run started last tick (it ran while this tick's systems did), upload the dirty ranges of the mirrored components and start the next run of every kernel (hit, place, compose)",
		Reads:   []string{"Surface", "AttentionRay", "ComputeTask", "Device", "Placement", "Mirror requests"},
		Writes:  []string{"GPU buffers", "Mirror results (of the world two ticks back)"},
	}
}

// Init implements world.System.
func (s *Submit) Init(w *world.World) (err error) {
	s.mirror, err = gpu.MirrorOf(w.ECS, "gpu-submit")
	return err
}

// Run implements world.System. A device error is logged and the tick goes
// on: results then stay those of the last good run, which the systems'
// generation checks keep from being misapplied.
func (s *Submit) Run(w *world.World) {
	s.mirror.RunTick = w.Clock.Tick
	if err := s.mirror.Submit(); err != nil {
		w.Log().Error("gpu: submit failed", "tick", w.Clock.Tick, "err", err)
	}
}
