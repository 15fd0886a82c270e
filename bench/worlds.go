package bench

import (
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// RayWorld returns a world holding n attention rays with weights spread
// over (0, 1], as a stress scene for the attention systems. The world has
// a GPU mirror on the CPU backend, as every world the runtime builds does:
// the attention systems mark the rays they change in it, so they refuse
// to start without one.
// RayWorldTick is the tick RayWorld's clock stands at.
const RayWorldTick = 300

func RayWorld(n int) (*world.World, error) {
	w := world.New(world.Config{Seed: 1, Hz: 60, Scene: "rays"}, nil)
	// Gazes of the last five seconds at random weights: rays of every
	// age, some faded out (as in a world where gaze moves on).
	w.Clock.Tick = RayWorldTick
	rays := ecs.NewMap1[components.AttentionRay](w.ECS)
	rays.NewBatchFn(n, func(_ ecs.Entity, r *components.AttentionRay) {
		r.Origin = components.Vec3{0, 1.6, 0}
		r.Direction = components.Vec3{0, 0, -1}
		r.Weight = 1 - float32(w.RNG.Float64())
		r.Since = RayWorldTick - uint32(w.RNG.IntN(300))
	})
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
		return nil, err
	}
	return w, nil
}
