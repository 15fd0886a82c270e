package attention

import (
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// System follows gaze and maintains the world's Focus.
type System struct {
	inputs   *ecs.Filter1[components.Input]
	rays     *ecs.Filter1[components.AttentionRay]
	surfaces *ecs.Filter1[components.Surface]
	newRay   *ecs.Map1[components.AttentionRay]

	// Scratch reused every tick so that steady state does not allocate.
	targets  []Target
	unpaired []components.Input
}

// Target is a surface as the hit test sees it.
type Target struct {
	Entity  ecs.Entity
	Surface components.Surface
}

// New returns the attention system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "attention",
		Purpose: "point rays at this tick's gaze, hit-test active rays against visible surfaces, publish the strongest hit as Focus",
		Reads:   []string{"Input(gaze)", "Surface", "Clock"},
		Writes:  []string{"AttentionRay", "Focus"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) error {
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.rays = ecs.NewFilter1[components.AttentionRay](w.ECS).Register()
	s.surfaces = ecs.NewFilter1[components.Surface](w.ECS).Register()
	s.newRay = ecs.NewMap1[components.AttentionRay](w.ECS)
	return nil
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.followGaze()

	s.targets = s.targets[:0]
	sq := s.surfaces.Query()
	for sq.Next() {
		if surf := sq.Get(); surf.Flags&components.SurfaceVisible != 0 {
			s.targets = append(s.targets, Target{Entity: sq.Entity(), Surface: *surf})
		}
	}

	best := -1
	var bestWeight float32
	rq := s.rays.Query()
	for rq.Next() {
		ray := rq.Get()
		ray.Hit, ray.HitT = 0, 0
		if ray.Weight == 0 {
			continue
		}
		if i, t := HitTest(ray, s.targets); i >= 0 {
			ray.Hit, ray.HitT = s.targets[i].Entity.ID(), t
			if ray.Weight > bestWeight {
				best, bestWeight = i, ray.Weight
			}
		}
	}

	f := w.Focus
	if best < 0 {
		*f = components.Focus{}
		return
	}
	ref := world.Ref(s.targets[best].Entity)
	if ref != f.Surface {
		f.Surface, f.Since = ref, w.Clock.Tick
	}
	f.Owner, f.Weight = s.targets[best].Surface.Owner, bestWeight
}

// followGaze sets the ray of each gaze input's device to the new gaze at
// full weight, creating a ray for a device seen for the first time.
func (s *System) followGaze() {
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
				aim(ray, &s.unpaired[i])
				s.unpaired = append(s.unpaired[:i], s.unpaired[i+1:]...)
				i--
			}
		}
	}
	// Structural changes wait until no query is open.
	for i := range s.unpaired {
		var ray components.AttentionRay
		aim(&ray, &s.unpaired[i])
		s.newRay.NewEntity(&ray)
	}
}

// aim points ray along a gaze input at full weight. A later gaze from the
// same device in the same tick wins, because inputs are applied in order.
func aim(ray *components.AttentionRay, gaze *components.Input) {
	ray.Origin, ray.Direction, ray.Weight = gaze.Origin, gaze.Direction, 1
	ray.Source, ray.Device = uint32(gaze.Seq), gaze.Device
}

// HitTest returns the index of the target whose quad the ray hits nearest,
// and the distance along the ray, or -1. Among hits at the same distance
// the higher Layer, then the higher Z, wins: that is what the user sees on
// top.
func HitTest(ray *components.AttentionRay, targets []Target) (int, float32) {
	best, bestT := -1, float32(0)
	for i := range targets {
		t, ok := hitQuad(ray, &targets[i].Surface)
		if !ok {
			continue
		}
		if best < 0 || t < bestT || t == bestT && onTop(&targets[i].Surface, &targets[best].Surface) {
			best, bestT = i, t
		}
	}
	return best, bestT
}

func onTop(a, b *components.Surface) bool {
	if a.Layer != b.Layer {
		return a.Layer > b.Layer
	}
	return a.Z > b.Z
}

// hitQuad intersects the ray with the surface's plane and checks that the
// point lies inside the quad's half extents.
func hitQuad(ray *components.AttentionRay, s *components.Surface) (float32, bool) {
	n := cross(s.Right, s.Up)
	denom := dot(ray.Direction, n)
	if denom > -1e-6 && denom < 1e-6 {
		return 0, false // parallel to the surface
	}
	t := dot(sub(s.Center, ray.Origin), n) / denom
	if t <= 0 {
		return 0, false // behind the eye
	}
	p := components.Vec3{ray.Origin[0] + t*ray.Direction[0], ray.Origin[1] + t*ray.Direction[1], ray.Origin[2] + t*ray.Direction[2]}
	d := sub(p, s.Center)
	u, v := dot(d, s.Right), dot(d, s.Up)
	if u < -s.HalfWidth || u > s.HalfWidth || v < -s.HalfHeight || v > s.HalfHeight {
		return 0, false
	}
	return t, true
}

func dot(a, b components.Vec3) float32 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func sub(a, b components.Vec3) components.Vec3 {
	return components.Vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]}
}

func cross(a, b components.Vec3) components.Vec3 {
	return components.Vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
