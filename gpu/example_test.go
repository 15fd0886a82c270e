package gpu_test

import (
	"fmt"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// A world with one surface and one gaze ray, mirrored on the CPU backend:
// Submit uploads what changed and runs the kernels, Collect reads the
// results back, and an unchanged world uploads nothing the next time.
func Example() {
	w := ecs.NewWorld()
	surface := ecs.NewMap1[components.Surface](w).NewEntity(&components.Surface{
		Center: components.Vec3{0, 1.6, -2}, Right: components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0},
		HalfWidth: 0.5, HalfHeight: 0.3, Flags: components.SurfaceVisible,
	})
	ray := ecs.NewMap1[components.AttentionRay](w).NewEntity(&components.AttentionRay{
		Origin: components.Vec3{0, 1.6, 0}, Direction: components.Vec3{0, 0, -1}, Weight: 1,
	})

	mirror, err := gpu.Install(w, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 64, FrameHeight: 36})
	if err != nil {
		panic(err)
	}
	_ = mirror.Submit()
	_ = mirror.Collect()
	hit, t, ok, _ := mirror.HitOf(ray)
	fmt.Printf("hit surface: %v at %.1f m (the surface: %v)\n", ok, t, hit == surface)
	fmt.Println("first upload:", mirror.Stats().ColumnBytes, "bytes")

	_ = mirror.Submit()
	fmt.Println("unchanged world:", mirror.Stats().ColumnBytes, "bytes")
	// Output:
	// hit surface: true at 2.0 m (the surface: true)
	// first upload: 144 bytes
	// unchanged world: 0 bytes
}
