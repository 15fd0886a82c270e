// Package gpusync holds the two systems that bracket the GPU's work in a
// tick: [Collect] runs early and makes the last run's results readable;
// [Submit] runs last, uploads what the tick changed and starts the next
// run. Between them the systems read results one tick old and mark what
// they change.
package gpusync

import (
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Collect waits for the previous tick's GPU run and reads its results.
type Collect struct{ mirror *gpu.Mirror }

// Submit uploads the tick's changes and starts the GPU run.
type Submit struct{ mirror *gpu.Mirror }

// NewCollect returns the collect system.
func NewCollect() *Collect { return &Collect{} }

// NewSubmit returns the submit system.
func NewSubmit() *Submit { return &Submit{} }

// Describe implements world.System.
func (s *Collect) Describe() world.Description {
	return world.Description{
		Name:    "gpu-collect",
		Purpose: "wait for the GPU run started last tick and read back its hit results and placement choices",
		Reads:   []string{"GPU buffers"},
		Writes:  []string{"Mirror results"},
	}
}

// Describe implements world.System.
func (s *Submit) Describe() world.Description {
	return world.Description{
		Name:    "gpu-submit",
		Purpose: "upload the dirty ranges of the mirrored components and start one GPU run of every kernel (hit, place, compose)",
		Reads:   []string{"Surface", "AttentionRay", "ComputeTask", "Device", "Placement", "Mirror requests"},
		Writes:  []string{"GPU buffers"},
	}
}

// Init implements world.System.
func (s *Collect) Init(w *world.World) (err error) {
	s.mirror, err = gpu.MirrorOf(w.ECS, "gpu-collect")
	return err
}

// Init implements world.System.
func (s *Submit) Init(w *world.World) (err error) {
	s.mirror, err = gpu.MirrorOf(w.ECS, "gpu-submit")
	return err
}

// Run implements world.System. A device error is logged and the tick goes
// on: results then stay those of the last good run, which the systems'
// generation checks keep from being misapplied.
func (s *Collect) Run(w *world.World) {
	if err := s.mirror.Collect(); err != nil {
		w.Log().Error("gpu: collect failed", "tick", w.Clock.Tick, "err", err)
	}
}

// Run implements world.System.
func (s *Submit) Run(w *world.World) {
	if err := s.mirror.Submit(); err != nil {
		w.Log().Error("gpu: submit failed", "tick", w.Clock.Tick, "err", err)
	}
}
