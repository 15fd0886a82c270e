package attention_test

import (
	"math"
	"testing"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/world"
)

// wall returns a 2×1 m surface facing the viewer at z.
func wall(cx, cy, z float32, layer uint32, zorder float32) components.Surface {
	return components.Surface{
		Center: components.Vec3{cx, cy, z}, Right: components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0},
		HalfWidth: 1, HalfHeight: 0.5, Layer: layer, Z: zorder, Flags: components.SurfaceVisible,
	}
}

func ray(dir components.Vec3) *components.AttentionRay {
	n := float32(math.Sqrt(float64(dir[0]*dir[0] + dir[1]*dir[1] + dir[2]*dir[2])))
	return &components.AttentionRay{Direction: components.Vec3{dir[0] / n, dir[1] / n, dir[2] / n}, Weight: 1}
}

func TestHitTest(t *testing.T) {
	near := attention.Target{Surface: wall(0, 0, -2, 0, 0)}
	far := attention.Target{Surface: wall(0, 0, -4, 0, 0)}
	overlay := attention.Target{Surface: wall(0, 0, -2, 2, 0)}
	cases := []struct {
		name    string
		dir     components.Vec3
		targets []attention.Target
		want    int
		wantT   float32
	}{
		{"straight ahead hits the nearer", components.Vec3{0, 0, -1}, []attention.Target{far, near}, 1, 2},
		{"looking away hits nothing", components.Vec3{0, 0, 1}, []attention.Target{near}, -1, 0},
		{"parallel to the wall hits nothing", components.Vec3{1, 0, 0}, []attention.Target{near}, -1, 0},
		{"inside the right edge", components.Vec3{0.99, 0, -2}, []attention.Target{near}, 0, 0},
		{"past the right edge", components.Vec3{1.01, 0, -2}, []attention.Target{near}, -1, 0},
		{"past the top edge", components.Vec3{0, 0.51, -2}, []attention.Target{near}, -1, 0},
		{"same distance: higher layer wins", components.Vec3{0, 0, -1}, []attention.Target{near, overlay}, 1, 2},
	}
	for _, c := range cases {
		i, tt := attention.HitTest(ray(c.dir), c.targets)
		if i != c.want || c.wantT != 0 && math.Abs(float64(tt-c.wantT)) > 1e-5 {
			t.Errorf("%s: got %d at %v, want %d at %v", c.name, i, tt, c.want, c.wantT)
		}
	}
}

func TestDecayHalvesWeightEveryHalfLife(t *testing.T) {
	dt := 10 * time.Millisecond
	f := attention.DecayFactor(dt)
	rays := []components.AttentionRay{{Weight: 1}, {Weight: 0.0011}}
	for i := 0; i < int(attention.DecayHalfLife/dt); i++ {
		attention.DecayWeights(rays[:1], f)
	}
	if math.Abs(float64(rays[0].Weight)-0.5) > 1e-3 {
		t.Errorf("after one half-life weight = %v, want 0.5", rays[0].Weight)
	}
	attention.DecayWeights(rays[1:], 0.5)
	if rays[1].Weight != 0 {
		t.Errorf("faded ray kept weight %v, want it snapped to 0", rays[1].Weight)
	}
}

// A gaze input aims the tracker's ray; the focused surface follows it and
// fades when the gaze is gone long enough.
func TestGazeMovesFocus(t *testing.T) {
	w := world.New(world.Config{Hz: 100}, nil)
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	left := wall(-1.5, 1.6, -2, 0, 0)
	left.Owner = 1
	right := wall(1.5, 1.6, -2, 0, 0)
	right.Owner = 2
	hidden := wall(1.5, 1.6, -1.9, 0, 0)
	hidden.Flags = 0 // not visible: must never take focus
	leftE := surfaces.NewEntity(&left)
	rightE := surfaces.NewEntity(&right)
	surfaces.NewEntity(&hidden)
	sched, err := world.NewScheduler(w, input.New(), attention.NewDecay(), attention.New())
	if err != nil {
		t.Fatal(err)
	}
	look := func(x float32) {
		n := float32(math.Sqrt(float64(x*x + 4)))
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputGaze, Device: 7, Origin: components.Vec3{0, 1.6, 0}, Direction: components.Vec3{x / n, 0, -2 / n}})
	}
	sched.Tick(w)
	if w.Focus.Surface != (components.EntityRef{}) {
		t.Fatalf("focus before any gaze: %+v", *w.Focus)
	}
	look(-1.5)
	sched.Tick(w)
	if w.Focus.Surface != world.Ref(leftE) || w.Focus.Owner != 1 || w.Focus.Weight != 1 || w.Focus.Since != 2 {
		t.Fatalf("after looking left: %+v", *w.Focus)
	}
	look(1.5)
	sched.Tick(w)
	if w.Focus.Surface != world.Ref(rightE) || w.Focus.Owner != 2 || w.Focus.Since != 3 {
		t.Fatalf("after looking right: %+v", *w.Focus)
	}
	rays := 0
	q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	for q.Next() {
		rays++
	}
	if rays != 1 {
		t.Errorf("%d rays for one tracker, want 1", rays)
	}
	for i := 0; i < 1500; i++ { // 15 s without gaze
		sched.Tick(w)
	}
	if w.Focus.Surface != (components.EntityRef{}) {
		t.Errorf("focus survived 15 s without gaze: %+v", *w.Focus)
	}
}
