package boot

import (
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot/evdev"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// startInputDevices starts reading Options.InputDevices (Linux evdev
// devices) off the tick and returns their inputs; nil when unset, and in
// a replay, whose inputs are the journal's. A missing folder never fails
// a boot: it is logged and looked for again every second (the image's
// init may load the input drivers late).
func (rt *runtime) startInputDevices() <-chan components.Input {
	if rt.o.InputDevices == "" || rt.o.Replay {
		return nil
	}
	def := gpu.DefaultMirrorConfig
	width, height := def.FrameWidth, def.FrameHeight
	if m := ecs.GetResource[gpu.Mirror](rt.w.ECS); m != nil {
		width, height = m.Config().FrameWidth, m.Config().FrameHeight
	}
	devs := evdev.Start(evdev.Options{Dir: rt.o.InputDevices, Width: width, Height: height, Log: rt.log})
	rt.closers = append(rt.closers, devs.Close)
	return devs.Inputs()
}

// feedPhysical feeds one input read from a physical device. The devices
// only make valid inputs (key codes 1…KEY_MAX, positions inside the
// frame, the three buttons); a KEY_POWER press arrives as the signal
// input "power-button", which stops the world like SIGTERM does.
func feedPhysical(w *world.World, in components.Input) { w.Inbox.Feed(w.Clock, in) }
