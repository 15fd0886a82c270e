package boot

import (
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// startInputDevices starts reading Options.InputDevices (Linux evdev
// devices) off the tick and returns their inputs; nil when unset.
func (rt *runtime) startInputDevices() <-chan components.Input { return nil }

// feedPhysical feeds one input read from a physical device.
func feedPhysical(w *world.World, in components.Input) { w.Inbox.Feed(w.Clock, in) }
