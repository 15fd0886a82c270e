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
// weight: long enough to survive a blink or a saccade, short enough that a
// glance away moves focus within a second or two.
const DecayHalfLife = time.Second

// minWeight is where a fading ray is considered inactive and snapped to 0,
// so that inactive rays cost no hit tests.
const minWeight = 1e-3

// Decay ages attention rays once per tick.
type Decay struct {
	rays   *ecs.Filter1[components.AttentionRay]
	mirror *gpu.Mirror
	factor float32
}

// NewDecay returns the decay system.
func NewDecay() *Decay { return &Decay{} }

// Describe implements world.System.
func (d *Decay) Describe() world.Description {
	return world.Description{
		Name:    "attention-decay",
		Purpose: "age every attention ray's weight by the tick's share of its half-life",
		Reads:   []string{"Clock"},
		Writes:  []string{"AttentionRay.Weight"},
	}
}

// Init implements world.System.
func (d *Decay) Init(w *world.World) error {
	d.rays = ecs.NewFilter1[components.AttentionRay](w.ECS).Register()
	d.factor = DecayFactor(w.Clock.Dt)
	var err error
	d.mirror, err = gpu.MirrorOf(w.ECS, "attention-decay")
	return err
}

// DecayFactor is the per-tick weight multiplier for a tick of length dt.
func DecayFactor(dt time.Duration) float32 {
	return float32(math.Exp2(-dt.Seconds() / DecayHalfLife.Seconds()))
}

// Run implements world.System. It walks table columns rather than entity
// by entity: this loop is the per-entity hot path the benchmarks compare
// with a plain slice.
func (d *Decay) Run(w *world.World) {
	changed := false
	q := d.rays.Query()
	for q.NextTable() {
		changed = DecayWeights(q.GetColumns(), d.factor) || changed
	}
	// Fading rays change every tick while they fade: marking the whole
	// column is one word write per 64 rays, cheaper than finding each.
	if changed {
		d.mirror.Rays.MarkAll()
	}
}

// DecayWeights multiplies every weight by factor, snaps faded ones to 0,
// and reports whether any weight changed.
func DecayWeights(rays []components.AttentionRay, factor float32) bool {
	changed := false
	for i := range rays {
		old := rays[i].Weight
		wgt := old * factor
		if wgt < minWeight {
			wgt = 0
		}
		rays[i].Weight = wgt
		changed = changed || wgt != old
	}
	return changed
}
