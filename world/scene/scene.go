package scene

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// Summary counts what a scene created and lists its guests in creation
// order, so the runtime can announce them.
type Summary struct {
	Surfaces, Devices, Tasks, Rays int
	Guests                         []ecs.Entity
}

// builders maps scene names to their builders.
var builders = map[string]func(*world.World) Summary{
	"demo":       Demo,
	"desktop":    func(w *world.World) Summary { return Synthetic(w, DesktopSize) },
	"overload":   func(w *world.World) Summary { return Synthetic(w, OverloadSize) },
	"stress":     func(w *world.World) Summary { return Balanced(w, StressSize, StressChurn) },
	"datacenter": func(w *world.World) Summary { return Balanced(w, DatacenterSize, DatacenterChurn) },
}

// Names lists the known scenes, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(builders))
}

// Known reports whether name is a scene, with the list of known ones if not.
func Known(name string) error {
	if _, ok := builders[name]; !ok {
		return fmt.Errorf("unknown scene %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return nil
}

// Build populates w with the named scene.
func Build(name string, w *world.World) (Summary, error) {
	if err := Known(name); err != nil {
		return Summary{}, err
	}
	return builders[name](w), nil
}

// Scene space: the viewer stands at the origin, eyes at 1.6 m, looking down
// -Z. Surfaces are quads on a wall 2 m ahead; the framebuffer is 1920×1080.
const (
	eyeHeight = 1.6
	wallZ     = -2.0
)

// Demo is the default world: a RayOS shell bar and launcher, one gaze ray,
// four compute devices and 32 tasks whose data sits at seeded random places.
// Its guests come from the VM registry (AddGuests).
func Demo(w *world.World) Summary {
	surfaces := ecs.NewMap2[components.Surface, components.Title](w.ECS)
	var sum Summary

	wall := func(title string, cx, cy, halfW, halfH float32, rect components.Rect, owner, layer uint32, flags uint32) ecs.Entity {
		sum.Surfaces++
		return surfaces.NewEntity(&components.Surface{
			Center: components.Vec3{cx, cy, wallZ}, Z: float32(sum.Surfaces),
			Right: components.Vec3{1, 0, 0}, HalfWidth: halfW,
			Up: components.Vec3{0, 1, 0}, HalfHeight: halfH,
			Rect: rect, Owner: owner, Layer: layer, Flags: flags,
		}, &components.Title{Text: title})
	}
	visible := components.SurfaceVisible
	// The shell bar is RayOS's own system surface: nothing covers it.
	bar := wall("RayOS", 0, eyeHeight+0.95, 1.6, 0.05, components.Rect{X: 0, Y: 0, W: 1920, H: 40}, components.OwnerRayOS, 2, visible|components.SurfaceSystem)
	// It is also RayOS's command line at the keyboard (systems/prompt).
	ecs.NewMap1[components.Prompt](w.ECS).Add(bar, &components.Prompt{Label: "RayOS"})
	wall("Launcher", -1.2, eyeHeight-0.2, 0.35, 0.6, components.Rect{X: 40, Y: 80, W: 400, H: 900}, components.OwnerRayOS, 1, visible)

	rays := ecs.NewMap1[components.AttentionRay](w.ECS)
	rays.NewEntity(&components.AttentionRay{Origin: components.Vec3{0, eyeHeight, 0}, Direction: components.Vec3{0, 0, -1}})
	sum.Rays = 1

	devices := ecs.NewMap1[components.Device](w.ECS)
	for _, d := range []components.Device{
		{Position: components.Vec3{-3, 0, -6}, Capacity: 100, Temperature: 40, EnergyCost: 1.0, Kind: 0},
		{Position: components.Vec3{3, 0, -6}, Capacity: 100, Temperature: 40, EnergyCost: 1.2, Kind: 0},
		{Position: components.Vec3{0, 0, -4}, Capacity: 40, Temperature: 35, EnergyCost: 0.6, Kind: 1},
		{Position: components.Vec3{0, 2, -8}, Capacity: 20, Temperature: 30, EnergyCost: 0.3, Kind: 2},
	} {
		devices.NewEntity(&d)
		sum.Devices++
	}

	tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	for i := 0; i < 32; i++ {
		r := w.RNG
		tasks.NewEntity(&components.ComputeTask{
			Affinity: components.Vec3{float32(r.Float64()*8 - 4), float32(r.Float64() * 2), float32(-3 - r.Float64()*6)},
			Demand:   float32(1 + r.IntN(8)),
			Priority: float32(1 + r.IntN(3)),
		}, &components.Placement{})
		sum.Tasks++
	}
	return sum
}

// Size is the population of a synthetic scene.
type Size struct {
	Surfaces, Rays, Devices, Tasks int
	// Hosts groups the devices into this many hosts of Devices/Hosts
	// devices each, placed together, with the tasks' data clustered around
	// them (Balanced only). 0: devices spread over the floor one by one.
	Hosts int
}

// DesktopSize is a busy desktop: many windows, a few gaze trackers, a
// workstation's devices and a few thousand tasks.
var DesktopSize = Size{Surfaces: 64, Rays: 4, Devices: 16, Tasks: 2_000}

// OverloadSize is the stress world as it was first built: its tasks ask
// for about six times what its devices hold, so most of them never fit and
// every evaluation finds the same answer. It stays as a scene because it
// is the worst case for a scheduler that re-evaluates what cannot move.
var OverloadSize = Size{Surfaces: 256, Rays: 10_000, Devices: 64, Tasks: 100_000}

// StressSize is a busy control plane: a screen full of windows, ten
// thousand gaze rays and 100k tasks on 64 devices that can hold them
// (Balanced, with StressChurn).
var StressSize = Size{Surfaces: 256, Rays: 10_000, Devices: 64, Tasks: 100_000}

// DatacenterSize is a datacenter's control plane: a million tasks on 1,024
// devices in 64 hosts of 16, and next to no UI (Balanced, with
// DatacenterChurn).
var DatacenterSize = Size{Surfaces: 4, Rays: 4, Devices: 1_024, Tasks: 1_000_000, Hosts: 64}

// Headroom is a balanced world's total device capacity over its tasks'
// total demand. A little above 1, so that almost every task fits once
// placed (what is left is spread over the devices in slivers, as in a real
// fleet) and the arrivals of a churning world find room.
const Headroom = 1.05

// StressChurn: 0.2 % of the tasks finish each tick and as many arrive
// (200 of 100k; at 60 Hz a task lives about 8 s), and each device takes a
// 15 °C heat event about once every 1,200 ticks (20 s at 60 Hz), so one of
// the 64 is warming up most of the time.
var StressChurn = Churn{Finish: 0.002, HeatChance: 1.0 / 1200, HeatC: 15}

// DatacenterChurn is StressChurn's rates on the datacenter: 2,000 tasks
// finish and arrive per tick, and most ticks heat a device.
var DatacenterChurn = Churn{Finish: 0.002, HeatChance: 1.0 / 1200, HeatC: 15}

// Synthetic builds a scene of the given size from the world's seeded RNG:
// windows tiled on a wall 2 m ahead (and on the framebuffer), gaze rays
// from around the eye towards the wall, devices spread over a 40 × 40 m
// floor, tasks whose data lies anywhere on it. No guests, no churn, and no
// relation between the devices' capacity and the tasks' demand: 64 devices
// hold about 16,000 of demand, 100k tasks ask for about 100,000.
func Synthetic(w *world.World, size Size) Summary {
	r := w.RNG
	addWindows(w, size.Surfaces)
	addRays(w, size.Rays)
	devices := ecs.NewMap1[components.Device](w.ECS)
	for i := 0; i < size.Devices; i++ {
		devices.NewEntity(&components.Device{
			Position: components.Vec3{float32(r.Float64()*40 - 20), 0, float32(-r.Float64() * 40)},
			Capacity: float32(100 * (1 + r.IntN(4))), Temperature: 35, EnergyCost: float32(0.5 + r.Float64()), Kind: uint32(r.IntN(3)),
		})
	}
	tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
	for i := 0; i < size.Tasks; i++ {
		tasks.NewEntity(&components.ComputeTask{
			Affinity: components.Vec3{float32(r.Float64()*40 - 20), float32(r.Float64() * 2), float32(-r.Float64() * 40)},
			Demand:   float32(r.Float64() * 2), Priority: float32(1 + r.IntN(3)),
		}, &components.Placement{})
	}
	return Summary{Surfaces: size.Surfaces, Rays: size.Rays, Devices: size.Devices, Tasks: size.Tasks}
}

// addWindows tiles n visible windows on the wall 2 m ahead and on the
// framebuffer, in rows of a square grid.
func addWindows(w *world.World, n int) {
	r := w.RNG
	surfaces := ecs.NewMap2[components.Surface, components.Title](w.ECS)
	cols := 1
	for cols*cols < n {
		cols++
	}
	for i := 0; i < n; i++ {
		cx, cy := i%cols, i/cols
		pw, ph := 1920/cols, 1080/cols
		surfaces.NewEntity(&components.Surface{
			Center: components.Vec3{float32(cx-cols/2) * 0.4, eyeHeight + float32(cy-cols/2)*0.25, wallZ + float32(r.Float64()*0.1)},
			Z:      float32(i), Right: components.Vec3{1, 0, 0}, HalfWidth: 0.18, Up: components.Vec3{0, 1, 0}, HalfHeight: 0.11,
			Rect:  components.Rect{X: int32(cx * pw), Y: int32(cy * ph), W: int32(pw * 9 / 10), H: int32(ph * 9 / 10)},
			Layer: 1, Flags: components.SurfaceVisible,
		}, &components.Title{Text: fmt.Sprintf("Window %d", i+1)})
	}
}

// addRays aims n gaze rays from around the eye towards the wall, one per
// tracker.
func addRays(w *world.World, n int) {
	r := w.RNG
	rays := ecs.NewMap1[components.AttentionRay](w.ECS)
	for i := 0; i < n; i++ {
		d := components.Vec3{float32(r.NormFloat64() * 0.4), float32(r.NormFloat64() * 0.25), -1}
		l := float32(math.Sqrt(float64(d[0]*d[0] + d[1]*d[1] + 1)))
		rays.NewEntity(&components.AttentionRay{
			Origin:    components.Vec3{float32(r.NormFloat64() * 0.05), eyeHeight, 0},
			Direction: components.Vec3{d[0] / l, d[1] / l, -1 / l}, Weight: 1, Device: uint32(i),
		})
	}
}

// GuestSpec is a guest to add to a world: its registry id, OS and trust
// label.
type GuestSpec struct {
	ID    string
	OS    components.OSKind
	Label components.TrustLabel
	// VCPUs is the registry's vCPU count (0 is taken as 1).
	VCPUs int
}

// AddGuests gives each guest a Guest entity (defined: not running until a start takes effect) and a desktop surface
// on the wall, two per row, off screen until presented. Guest numbers
// follow the order of specs, from 1.
func AddGuests(w *world.World, specs []GuestSpec) []ecs.Entity {
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	guests := ecs.NewMap2[components.Guest, components.GuestCPUs](w.ECS)
	var out []ecs.Entity
	for i, g := range specs {
		number := uint32(i + 1)
		col, row := int32(i%2), int32(i/2)
		desktop := surfaces.NewEntity(&components.Surface{
			Center: components.Vec3{1.1 * float32(col), eyeHeight - 0.7*float32(row), wallZ}, Z: float32(100 + i),
			Right: components.Vec3{1, 0, 0}, HalfWidth: 0.5, Up: components.Vec3{0, 1, 0}, HalfHeight: 0.3,
			Rect: components.Rect{X: 480 + col*720, Y: 160 + row*440, W: 640, H: 400}, Owner: number,
		})
		out = append(out, guests.NewEntity(&components.Guest{
			ID: g.ID, Number: number, OS: g.OS, State: components.GuestDefined, Desktop: world.Ref(desktop), Label: g.Label,
		}, &components.GuestCPUs{VCPUs: max(g.VCPUs, 1)}))
	}
	return out
}
