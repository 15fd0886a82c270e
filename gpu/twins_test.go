package gpu_test

import (
	"fmt"
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
		hits := []gpu.Hit{{Index: -7}} // no real result: the first run reports a change
		if n := gpu.HitTest([]components.AttentionRay{ray}, c.surfaces, hits, make([]gpu.HitChange, 1)); n != 1 {
			t.Errorf("%s: %d changes reported for a new result", c.name, n)
		}
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

func TestPlaceTasksDecidesWhatToActOn(t *testing.T) {
	w := gpu.DefaultMirrorConfig.Weights
	devices := []components.Device{
		{Position: components.Vec3{10, 0, 0}, Capacity: 100, Temperature: 30},
		{Position: components.Vec3{0, 0, 0}, Capacity: 100, Temperature: 30},
		{Position: components.Vec3{0, 0, 0}, Capacity: 1, Temperature: 30},
	}
	// Task 0 sits on device 0 (far from its data), task 1 is unplaced,
	// task 2 fits nowhere, task 3 sits where it is best already.
	tasks := []components.ComputeTask{{Demand: 5, Priority: 1}, {Demand: 5, Priority: 1}, {Demand: 500}, {Demand: 5, Priority: 1}}
	current := []uint32{1, 0, 0, 2}
	p := gpu.PlaceParams{Weights: w, Gain: 0.9, FitLimit: gpu.FitLimits(devices)}
	decide := func(stride uint32) []gpu.PlaceAction {
		p.RebalanceStride = stride
		out := make([]gpu.PlaceAction, len(tasks))
		return out[:gpu.PlaceTasks(&p, tasks, devices, current, out)]
	}
	const unplacedOnly, everyTask = 0, 1
	got := decide(unplacedOnly)
	if len(got) != 1 || got[0].Task != 1 || got[0].Choice.Device != 2 || got[0].Stay != -1 {
		t.Errorf("unplaced run: %+v; want only task 1, to device slot 1 (+1), stay -1", got)
	}
	got = decide(everyTask)
	if len(got) != 2 || got[0].Task != 0 || got[0].Choice.Device != 2 || got[0].Stay <= got[0].Choice.Cost || got[1].Task != 1 {
		t.Errorf("rebalance run: %+v; want task 0 moved to slot 1 (+1) for a real gain, then task 1", got)
	}
	p.Gain = 0.0001 // no move is worth it
	if got := decide(everyTask); len(got) != 1 || got[0].Task != 1 {
		t.Errorf("rebalance with a gain no move reaches: %+v", got)
	}
}

// A rebalance window reconsiders exactly the placed tasks whose slot falls
// in it, and every unplaced task.
func TestRebalanceWindowReconsidersItsSlotsOnly(t *testing.T) {
	w := gpu.DefaultMirrorConfig.Weights
	devices := []components.Device{{Position: components.Vec3{10, 0, 0}, Capacity: 1000}, {Capacity: 1000}}
	tasks := make([]components.ComputeTask, 9)
	current := make([]uint32, 9)
	for i := range tasks {
		tasks[i] = components.ComputeTask{Demand: 1, Priority: 1}
		current[i] = 1 // all on the far device: each would move
	}
	current[4] = 0 // one unplaced
	p := gpu.PlaceParams{Weights: w, Gain: 0.9, FitLimit: gpu.FitLimits(devices), RebalanceStride: 3, RebalancePhase: 1}
	out := make([]gpu.PlaceAction, len(tasks))
	var got []uint32
	for _, a := range out[:gpu.PlaceTasks(&p, tasks, devices, current, out)] {
		got = append(got, a.Task)
	}
	if fmt.Sprint(got) != "[1 4 7]" {
		t.Errorf("window 1 of 3 decided tasks %v, want [1 4 7] (4 is unplaced and in it anyway)", got)
	}
}
