package attention

import (
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// System follows gaze and maintains the world's Focus. The hit test itself
// is the GPU's hit kernel, started by gpu-submit at the end of each tick
// and collected at the end of the next; this system reads results
// computed from the world two ticks back (Mirror.ResultsTick).
type System struct {
	mirror   *gpu.Mirror
	fade     Fade
	inputs   *ecs.Filter1[components.Input]
	rays     *ecs.Filter1[components.AttentionRay]
	surfaces *ecs.Map1[components.Surface]
	newRay   *ecs.Map1[components.AttentionRay]

	// dwell is GazeDwell in ticks.
	dwell uint64

	// Scratch reused every tick so that steady state does not allocate.
	unpaired []components.Input
}

// New returns the attention system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "attention",
		Purpose: "point rays at this tick's gaze; from the GPU hit test of two ticks back, record each ray's hit and publish the strongest as Focus (a clicked focus holds until gaze settles elsewhere for GazeDwell)",
		Reads:   []string{"Input(gaze)", "Mirror hit results (of the world two ticks back)", "Surface", "Clock"},
		Writes:  []string{"AttentionRay", "Focus"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.rays = ecs.NewFilter1[components.AttentionRay](w.ECS).Register()
	s.surfaces = ecs.NewMap1[components.Surface](w.ECS)
	s.newRay = ecs.NewMap1[components.AttentionRay](w.ECS)
	s.fade = NewFade(w.Clock.Dt)
	s.dwell = uint64((GazeDwell + w.Clock.Dt - 1) / w.Clock.Dt)
	s.mirror, err = gpu.MirrorOf(w.ECS, "attention")
	return err
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	tick := uint32(w.Clock.Tick)
	s.followGaze(tick)

	var best ecs.Entity
	var bestWeight float32
	rq := s.rays.Query()
	for rq.Next() {
		ray, e := rq.Get(), rq.Entity()
		surface, t, hit, ok := s.mirror.HitOf(e)
		weight := s.fade.Weight(ray.Weight, tick-ray.Since)
		if !ok || weight == 0 || !w.ECS.Alive(surface) {
			hit = false
		}
		id := uint32(0)
		if hit {
			id = surface.ID()
		} else {
			t = 0
		}
		if ray.Hit != id || ray.HitT != t {
			ray.Hit, ray.HitT = id, t
			s.mirror.Rays.Mark(e)
		}
		if hit && weight > bestWeight {
			best, bestWeight = surface, weight
		}
	}

	s.focus(w, best, bestWeight)
}

// GazeDwell is how long gaze must rest on a new surface, after a click
// gave the focus elsewhere, before the focus follows it: a glance across
// the screen while typing does not take the keyboard away.
const GazeDwell = 300 * time.Millisecond

// focus applies the focus rule: whichever happened last wins. A click
// (the input broker) focuses at once. Gaze alone moves the focus as soon
// as the strongest ray hits another surface, and clears it when no ray
// hits anything. A clicked focus holds until the surface dies or is no
// longer shown, or until the gaze settles on another surface after the
// click and stays for GazeDwell; gaze never clears it.
func (s *System) focus(w *world.World, best ecs.Entity, bestWeight float32) {
	f, tick := w.Focus, w.Clock.Tick
	var gaze components.EntityRef
	if bestWeight > 0 {
		gaze = world.Ref(best)
	}
	if gaze != f.Gaze {
		f.Gaze, f.GazeSince = gaze, tick
	}
	if f.By == components.FocusPointer && s.shown(w, f.Surface) {
		newer := f.GazeSince > f.At && tick-f.GazeSince >= s.dwell
		if bestWeight == 0 || gaze == f.Surface || !newer {
			return
		}
	}
	if bestWeight == 0 {
		*f = components.Focus{Gaze: f.Gaze, GazeSince: f.GazeSince}
		return
	}
	if gaze != f.Surface {
		f.Surface, f.Since = gaze, tick
	}
	if f.By != components.FocusGaze {
		f.By, f.At = components.FocusGaze, tick
	}
	f.Owner, f.Weight = s.surfaces.Get(best).Owner, bestWeight
}

// shown says whether a focused surface is still alive and on screen; a
// clicked focus on one that is not gives way to gaze.
func (s *System) shown(w *world.World, ref components.EntityRef) bool {
	e, ok := w.Resolve(ref)
	return ok && s.surfaces.HasAll(e) && s.surfaces.Get(e).Flags&components.SurfaceVisible != 0
}

// followGaze sets the ray of each gaze input's device to the new gaze at
// full weight as of tick, creating a ray for a device seen for the first
// time.
func (s *System) followGaze(tick uint32) {
	s.unpaired = s.unpaired[:0]
	iq := s.inputs.Query()
	for iq.Next() {
		if in := iq.Get(); in.Kind == components.InputGaze {
			s.unpaired = append(s.unpaired, *in)
		}
	}
	if len(s.unpaired) == 0 {
		return
	}
	rq := s.rays.Query()
	for rq.Next() {
		ray := rq.Get()
		for i := 0; i < len(s.unpaired); i++ {
			if s.unpaired[i].Device == ray.Device {
				aim(ray, &s.unpaired[i], tick)
				s.mirror.Rays.Mark(rq.Entity())
				s.unpaired = append(s.unpaired[:i], s.unpaired[i+1:]...)
				i--
			}
		}
	}
	// Structural changes wait until no query is open; the mirror adopts
	// new rays itself.
	for i := range s.unpaired {
		var ray components.AttentionRay
		aim(&ray, &s.unpaired[i], tick)
		s.newRay.NewEntity(&ray)
	}
}

// aim points ray along a gaze input at full weight as of tick. A later
// gaze from the same device in the same tick wins, because inputs are
// applied in order.
func aim(ray *components.AttentionRay, gaze *components.Input, tick uint32) {
	ray.Origin, ray.Direction, ray.Weight, ray.Since = gaze.Origin, gaze.Direction, 1, tick
	ray.Source, ray.Device = uint32(gaze.Seq), gaze.Device
}
