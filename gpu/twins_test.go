package gpu_test

import (
	"math"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// wall returns a 2×1 m surface facing the viewer at z.
func wall(z float32, layer uint32) components.Surface {
	return components.Surface{
		Center: components.Vec3{0, 0, z}, Right: components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0},
		HalfWidth: 1, HalfHeight: 0.5, Layer: layer, Flags: components.SurfaceVisible,
	}
}

func TestHitTestGeometry(t *testing.T) {
	near, far, overlay := wall(-2, 0), wall(-4, 0), wall(-2, 2)
	hidden := wall(-1, 0)
	hidden.Flags = 0
	cases := []struct {
		name     string
		dir      components.Vec3
		weight   float32
		surfaces []components.Surface
		want     int32
		wantT    float32
	}{
		{"straight ahead hits the nearer", components.Vec3{0, 0, -1}, 1, []components.Surface{far, near}, 1, 2},
		{"invisible surfaces are not hit", components.Vec3{0, 0, -1}, 1, []components.Surface{hidden, far}, 1, 4},
		{"a ray of weight 0 hits nothing", components.Vec3{0, 0, -1}, 0, []components.Surface{near}, -1, 0},
		{"looking away hits nothing", components.Vec3{0, 0, 1}, 1, []components.Surface{near}, -1, 0},
		{"parallel to the wall hits nothing", components.Vec3{1, 0, 0}, 1, []components.Surface{near}, -1, 0},
		{"inside the right edge", components.Vec3{0.99, 0, -2}, 1, []components.Surface{near}, 0, 0},
		{"past the right edge", components.Vec3{1.01, 0, -2}, 1, []components.Surface{near}, -1, 0},
		{"past the top edge", components.Vec3{0, 0.51, -2}, 1, []components.Surface{near}, -1, 0},
		{"same distance: higher layer wins", components.Vec3{0, 0, -1}, 1, []components.Surface{near, overlay}, 1, 2},
	}
	for _, c := range cases {
		n := float32(math.Sqrt(float64(c.dir[0]*c.dir[0] + c.dir[1]*c.dir[1] + c.dir[2]*c.dir[2])))
		ray := components.AttentionRay{Direction: components.Vec3{c.dir[0] / n, c.dir[1] / n, c.dir[2] / n}, Weight: c.weight}
		hits := make([]gpu.Hit, 1)
		gpu.HitTest([]components.AttentionRay{ray}, c.surfaces, hits)
		if hits[0].Index != c.want || c.wantT != 0 && math.Abs(float64(hits[0].T-c.wantT)) > 1e-5 {
			t.Errorf("%s: got %+v, want index %d at %v", c.name, hits[0], c.want, c.wantT)
		}
	}
}

func TestPlacementTermsAreNamedAndSumToCost(t *testing.T) {
	w := gpu.DefaultMirrorConfig.Weights
	task := components.ComputeTask{Affinity: components.Vec3{3, 4, 0}, Demand: 10, Priority: 2}
	dev := components.Device{Capacity: 100, Temperature: 70, EnergyCost: 2}
	p, ok := gpu.PlacementTerms(w, &task, &dev, 30)
	if !ok {
		t.Fatal("task does not fit")
	}
	want := components.Placement{Locality: 5, Load: 4 * 0.4, Thermal: 2 * 15.0 / 30, Energy: 0.5 * 2 * 10 / 8, Priority: 1 * 1 * 0.3}
	want.Cost = want.Locality + want.Load + want.Thermal + want.Energy + want.Priority
	for name, pair := range map[string][2]float32{
		"locality": {p.Locality, want.Locality}, "load": {p.Load, want.Load}, "thermal": {p.Thermal, want.Thermal},
		"energy": {p.Energy, want.Energy}, "priority": {p.Priority, want.Priority}, "cost": {p.Cost, want.Cost},
	} {
		if math.Abs(float64(pair[0]-pair[1])) > 1e-5 {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	if _, ok := gpu.PlacementTerms(w, &task, &dev, 95); ok {
		t.Error("a task that overflows the device was accepted")
	}
	task.Class = 1 << 2
	if _, ok := gpu.PlacementTerms(w, &task, &dev, 0); ok {
		t.Error("a task of another class was accepted")
	}
}

func TestPlaceTasksChoosesTheCheapestAndReportsStayCost(t *testing.T) {
	w := gpu.DefaultMirrorConfig.Weights
	devices := []components.Device{
		{Position: components.Vec3{10, 0, 0}, Capacity: 100, Temperature: 30},
		{Position: components.Vec3{0, 0, 0}, Capacity: 100, Temperature: 30},
		{Position: components.Vec3{0, 0, 0}, Capacity: 1, Temperature: 30},
	}
	tasks := []components.ComputeTask{{Demand: 5, Priority: 1}, {Demand: 5, Priority: 1}, {Demand: 500}}
	current := []uint32{1, 0, 0} // task 0 sits on device 0
	out := make([]components.Placement, 3)
	stay := make([]float32, 3)
	gpu.PlaceTasks(w, tasks, devices, current, out, stay)
	if out[0].Device != 2 || out[1].Device != 2 {
		t.Errorf("choices %d, %d; want device slot 1 (+1) for both", out[0].Device, out[1].Device)
	}
	if stay[0] <= out[0].Cost || stay[1] != -1 {
		t.Errorf("stay costs %v: want task 0's current cost above its best, -1 for the unplaced task", stay)
	}
	if out[2].Device != 0 || stay[2] != -1 {
		t.Errorf("a task that fits nowhere got %+v, stay %v", out[2], stay[2])
	}
}
