package world_test

import (
	"fmt"
	"os"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// cooler is a minimal system: it lowers every device's temperature and
// emits a marker the first time one drops below 40 °C.
type cooler struct {
	devices *ecs.Filter1[components.Device]
	warned  bool
}

func (c *cooler) Describe() world.Description {
	return world.Description{Name: "cooler", Purpose: "cool devices", Writes: []string{"Device.Temperature"}}
}

func (c *cooler) Init(w *world.World) error {
	c.devices = ecs.NewFilter1[components.Device](w.ECS).Register()
	return nil
}

func (c *cooler) Run(w *world.World) {
	q := c.devices.Query()
	for q.NextTable() {
		devices := q.GetColumns()
		for i := range devices {
			dev := &devices[i]
			dev.Temperature -= 5
			if dev.Temperature < 40 && !c.warned {
				c.warned = true
				w.Emit(marker.Audit("cooled", fmt.Sprintf("tick=%d", w.Clock.Tick)))
			}
		}
	}
}

// A world, one device, one system, three ticks: the marker goes to stdout.
func Example() {
	w := world.New(world.Config{Seed: 1, Hz: 60}, marker.NewBus(os.Stdout))
	ecs.NewMap1[components.Device](w.ECS).NewEntity(&components.Device{Capacity: 1, Temperature: 50})
	sched, err := world.NewScheduler(w, &cooler{})
	if err != nil {
		panic(err)
	}
	for range 3 {
		sched.Tick(w)
	}
	// Output:
	// RAYOS_AUDIT:cooled:tick=3
}
