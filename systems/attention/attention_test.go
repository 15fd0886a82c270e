package attention_test

import (
	"math"
	"testing"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/world"
)

func wall(cx float32, owner uint32) components.Surface {
	return components.Surface{
		Center: components.Vec3{cx, 1.6, -2}, Right: components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0},
		HalfWidth: 1, HalfHeight: 0.5, Owner: owner, Flags: components.SurfaceVisible,
	}
}

func TestDecayHalvesWeightEveryHalfLife(t *testing.T) {
	dt := 10 * time.Millisecond
	f := attention.NewFade(dt)
	halfLife := uint32(attention.DecayHalfLife / dt)
	if got := f.Weight(1, halfLife); math.Abs(float64(got)-0.5) > 1e-3 {
		t.Errorf("after one half-life weight = %v, want 0.5", got)
	}
	if got := f.Weight(0.8, 2*halfLife); math.Abs(float64(got)-0.2) > 1e-3 {
		t.Errorf("0.8 after two half-lives = %v, want 0.2", got)
	}
	if f.Weight(1, uint32(len(f))) != 0 || f.Weight(1, uint32(len(f))-1) == 0 {
		t.Errorf("the fade table (%d ticks) does not end where a full weight fades out", len(f))
	}
	// Rays are retired only when they fade out; a ray that is merely
	// fading does not change (and so is not uploaded again).
	rays := []components.AttentionRay{{Weight: 1, Since: 0}, {Weight: 0.0011, Since: 0}, {Weight: 1, Since: 5}}
	if !attention.ExpireWeights(rays, 20, f) || rays[0].Weight != 1 || rays[1].Weight != 0 || rays[2].Weight != 1 {
		t.Errorf("after 20 ticks: %+v; want only the nearly faded ray retired", rays)
	}
	if attention.ExpireWeights(rays, 21, f) {
		t.Error("a tick in which nothing faded out was reported as a change")
	}
	if !attention.ExpireWeights(rays, uint32(len(f))+100, f) || rays[2].Weight != 0 {
		t.Errorf("a full weight did not fade out by the end of the table: %+v", rays)
	}
}

// A gaze input aims the tracker's ray; the GPU's hit test of the next
// submit moves the focus, which fades when the gaze is gone long enough.
// Runs on both backends: the result may not depend on where kernels run.
func TestGazeMovesFocus(t *testing.T) {
	vk, err := gpu.NewVulkan()
	if err != nil {
		t.Fatalf("Vulkan backend: %v (run `make deps`)", err)
	}
	defer vk.Close()
	for _, backend := range []gpu.Backend{gpu.NewCPU(), vk} {
		t.Run(backend.Info().Backend, func(t *testing.T) {
			w := world.New(world.Config{Hz: 100}, nil)
			surfaces := ecs.NewMap1[components.Surface](w.ECS)
			left := surfaces.NewEntity(&components.Surface{})
			*surfaces.Get(left) = wall(-1.5, 1)
			right := surfaces.NewEntity(&components.Surface{})
			*surfaces.Get(right) = wall(1.5, 2)
			hidden := wall(1.5, 3)
			hidden.Center[2], hidden.Flags = -1.9, 0 // in front of right, but not visible
			surfaces.NewEntity(&hidden)
			if _, err := gpu.Install(w.ECS, backend, gpu.DefaultMirrorConfig); err != nil {
				t.Fatal(err)
			}
			sched, err := world.NewScheduler(w, input.New(), attention.NewDecay(), attention.New(), gpusync.NewSubmit())
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
			sched.Tick(w) // tick 2: ray aimed, hit test submitted
			sched.Tick(w) // tick 3: the test runs on the device meanwhile, collected at its end
			if w.Focus.Surface != (components.EntityRef{}) {
				t.Fatalf("focus a tick early (results are two ticks old): %+v", *w.Focus)
			}
			sched.Tick(w) // tick 4: result read
			if w.Focus.Surface != world.Ref(left) || w.Focus.Owner != 1 || w.Focus.Since != 4 {
				t.Fatalf("after looking left: %+v", *w.Focus)
			}
			look(1.5)
			for range 3 {
				sched.Tick(w)
			}
			if w.Focus.Surface != world.Ref(right) || w.Focus.Owner != 2 || w.Focus.Since != 7 {
				t.Fatalf("after looking right: %+v", *w.Focus)
			}
			ray := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
			rays := 0
			for ray.Next() {
				rays++
				if ray.Get().Hit != right.ID() || math.Abs(float64(ray.Get().HitT)-2.5) > 1e-4 {
					t.Errorf("ray records hit %d at %v, want %d at 2.5", ray.Get().Hit, ray.Get().HitT, right.ID())
				}
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
		})
	}
}

// A click holds the focus against gaze: gaze hitting nothing does not
// clear it, a gaze that was already resting elsewhere does not take it,
// and a gaze that settles on another surface after the click takes it
// only once it has stayed GazeDwell. Then gaze rules again, as before.
func TestClickedFocusHoldsUntilGazeSettlesElsewhere(t *testing.T) {
	w := world.New(world.Config{Hz: 100}, nil)
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	left := surfaces.NewEntity(&components.Surface{})
	*surfaces.Get(left) = wall(-1.5, 1)
	right := surfaces.NewEntity(&components.Surface{})
	*surfaces.Get(right) = wall(1.5, 2)
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
		t.Fatal(err)
	}
	sched, err := world.NewScheduler(w, input.New(), attention.NewDecay(), attention.New(), gpusync.NewSubmit())
	if err != nil {
		t.Fatal(err)
	}
	look := func(x float32) {
		n := float32(math.Sqrt(float64(x*x + 4)))
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputGaze, Device: 7, Origin: components.Vec3{0, 1.6, 0}, Direction: components.Vec3{x / n, 0, -2 / n}})
	}
	// What the input broker does on a click.
	click := func(e ecs.Entity) {
		f := w.Focus
		if f.Surface != world.Ref(e) {
			f.Surface, f.Since = world.Ref(e), w.Clock.Tick
		}
		f.Owner, f.Weight, f.By, f.At = surfaces.Get(e).Owner, 1, components.FocusPointer, w.Clock.Tick
	}
	dwell := uint64(attention.GazeDwell / (10 * time.Millisecond))

	sched.Tick(w)
	click(left) // nothing was hit: gaze must not clear the click
	for range 50 {
		sched.Tick(w)
	}
	if w.Focus.Surface != world.Ref(left) || w.Focus.By != components.FocusPointer || w.Focus.Since != 1 {
		t.Fatalf("a click was wiped by gaze hitting nothing: %+v", *w.Focus)
	}
	// Looking at the right surface: it becomes the gaze target, and the
	// focus after the dwell, not before.
	look(1.5)
	for range 3 {
		sched.Tick(w)
	}
	since := w.Focus.GazeSince
	if w.Focus.Gaze != world.Ref(right) || w.Focus.Surface != world.Ref(left) {
		t.Fatalf("gaze took a clicked focus at once: %+v", *w.Focus)
	}
	for w.Clock.Tick < since+dwell-1 {
		sched.Tick(w)
	}
	if w.Focus.Surface != world.Ref(left) {
		t.Fatalf("gaze took the focus before the dwell: %+v", *w.Focus)
	}
	sched.Tick(w)
	if w.Focus.Surface != world.Ref(right) || w.Focus.By != components.FocusGaze || w.Focus.Since != since+dwell {
		t.Fatalf("gaze did not take the focus after the dwell (gaze since %d, dwell %d): %+v", since, dwell, *w.Focus)
	}
	// A click on left while gaze keeps resting on right: the click wins,
	// and keeps winning (the gaze is not new).
	click(left)
	for range 2 * dwell {
		sched.Tick(w)
	}
	if w.Focus.Surface != world.Ref(left) || w.Focus.By != components.FocusPointer {
		t.Fatalf("a resting gaze took the focus back from a newer click: %+v", *w.Focus)
	}
	// A dead clicked surface gives way to gaze at once.
	w.ECS.RemoveEntity(left)
	sched.Tick(w)
	if w.Focus.Surface != world.Ref(right) || w.Focus.By != components.FocusGaze {
		t.Fatalf("focus stayed on a dead surface: %+v", *w.Focus)
	}
}
