package attention

import (
	"math"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// DecayHalfLife is how long an un-refreshed gaze takes to lose half its
// weight (components.GazeHalfLife, which every reader of rays shares).
const DecayHalfLife = components.GazeHalfLife

// minWeight is where a fading ray is considered inactive and snapped to 0,
// so that inactive rays cost no hit tests.
const minWeight = 1e-3

// Fade is how a ray's weight decays at one tick length: Fade[k] is the
// factor after k ticks (2^(−k·dt / DecayHalfLife)). The table ends where a
// full weight has faded below the floor, so any age past it is faded.
// Weights are computed from it, never multiplied tick after tick: a ray
// that is only fading does not change, so it neither re-uploads to the GPU
// nor has its hit test re-run.
type Fade []float32

// NewFade computes the table for ticks of length dt.
func NewFade(dt time.Duration) Fade {
	step := dt.Seconds() / DecayHalfLife.Seconds()
	var f Fade
	for k := 0; ; k++ {
		v := float32(math.Exp2(-float64(k) * step))
		if v < minWeight {
			return f
		}
		f = append(f, v)
	}
}

// Weight is the weight age ticks after it was w0, or 0 once faded.
func (f Fade) Weight(w0 float32, age uint32) float32 {
	if w0 == 0 || int64(age) >= int64(len(f)) {
		return 0
	}
	if v := w0 * f[age]; v >= minWeight {
		return v
	}
	return 0
}

// Decay retires faded attention rays once per tick.
type Decay struct {
	rays   *ecs.Filter1[components.AttentionRay]
	mirror *gpu.Mirror
	fade   Fade
}

// NewDecay returns the decay system.
func NewDecay() *Decay { return &Decay{} }

// Describe implements world.System.
func (d *Decay) Describe() world.Description {
	return world.Description{
		Name:    "attention-decay",
		Purpose: "retire attention rays whose weight has faded below the floor (weights decay implicitly from the tick of their gaze)",
		Reads:   []string{"Clock", "AttentionRay.Since"},
		Writes:  []string{"AttentionRay.Weight"},
	}
}

// Init implements world.System.
func (d *Decay) Init(w *world.World) error {
	d.rays = ecs.NewFilter1[components.AttentionRay](w.ECS).Register()
	d.fade = NewFade(w.Clock.Dt)
	var err error
	d.mirror, err = gpu.MirrorOf(w.ECS, "attention-decay")
	return err
}

// Run implements world.System. It walks table columns rather than entity
// by entity: this loop is the per-entity hot path the benchmarks compare
// with a plain slice.
func (d *Decay) Run(w *world.World) {
	changed := false
	q := d.rays.Query()
	for q.NextTable() {
		changed = ExpireWeights(q.GetColumns(), uint32(w.Clock.Tick), d.fade) || changed
	}
	// Rays fade out together when their gazes ended together: marking the
	// whole column is one word write per 64 rays, cheaper than finding
	// each — and it happens once per fade-out, not every tick.
	if changed {
		d.mirror.Rays.MarkAll()
	}
}

// ExpireWeights sets to 0 the weight of every ray that has faded out by
// tick, and reports whether any did.
func ExpireWeights(rays []components.AttentionRay, tick uint32, f Fade) bool {
	changed := false
	for i := range rays {
		r := &rays[i]
		if r.Weight != 0 && f.Weight(r.Weight, tick-r.Since) == 0 {
			r.Weight = 0
			changed = true
		}
	}
	return changed
}
