package attention

import (
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

	// Scratch reused every tick so that steady state does not allocate.
	unpaired []components.Input
}

// New returns the attention system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "attention",
		Purpose: "point rays at this tick's gaze; from the GPU hit test of two ticks back, record each ray's hit and publish the strongest as Focus",
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

	f := w.Focus
	if bestWeight == 0 {
		*f = components.Focus{}
		return
	}
	ref := world.Ref(best)
	if ref != f.Surface {
		f.Surface, f.Since = ref, w.Clock.Tick
	}
	f.Owner, f.Weight = s.surfaces.Get(best).Owner, bestWeight
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
