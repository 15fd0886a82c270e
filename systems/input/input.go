package input

import (
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// System materialises the tick's inputs as entities.
type System struct {
	inputs *ecs.Map1[components.Input]
	live   *ecs.Filter1[components.Input]
}

// New returns the input system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "input",
		Purpose: "replace last tick's Input entities with the inputs fed for this tick; a signal input requests a stop",
		Reads:   []string{"Inbox"},
		Writes:  []string{"Input", "RunState"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) error {
	s.inputs = ecs.NewMap1[components.Input](w.ECS)
	s.live = ecs.NewFilter1[components.Input](w.ECS).Register()
	return nil
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	// Inputs are events, not state: they exist for the one tick that
	// consumes them.
	q := s.live.Query()
	stale := q.Count()
	q.Close()
	if stale > 0 {
		w.ECS.RemoveEntities(s.live.Batch(), nil)
	}
	for _, in := range w.Inbox.Drain() {
		in := in
		s.inputs.NewEntity(&in)
		if in.Kind == components.InputSignal && w.Run.StopReason == "" {
			w.Run.StopReason = "signal " + in.Text
		}
	}
}
