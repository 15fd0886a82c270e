package boot

import (
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/world"
)

// Pipeline returns a fresh instance of every tick system, in run order.
// The order is the design's: input → attention → intent resolution →
// (policy gating → effects, later) → spatial scheduling.
func Pipeline() []world.System {
	return []world.System{
		input.New(),
		attention.NewDecay(),
		attention.New(),
		intent.New(),
		schedule.New(),
	}
}
