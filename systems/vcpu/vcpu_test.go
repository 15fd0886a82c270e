package vcpu_test

import (
	"io"
	"slices"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/vcpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

type fixture struct {
	w     *world.World
	sched *world.Scheduler
	guest ecs.Entity
}

// newFixture builds a world with a 2-vCPU guest "linux" and four CPU
// devices, cpu0–1 on NUMA node 0 and cpu2–3 on node 1.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := world.New(world.Config{Hz: 60}, marker.NewBus(io.Discard))
	devs := ecs.NewMap2[components.Device, components.FabricNode](w.ECS)
	for i := range 4 {
		devs.NewEntity(&components.Device{Position: components.Vec3{float32(i), 0, 0}, Capacity: 1, Kind: vcpu.KindCPU},
			&components.FabricNode{Name: "cpu" + string(rune('0'+i)), CPU: i, NUMA: i / 2})
	}
	guest := scene.AddGuests(w, []scene.GuestSpec{{ID: "linux", VCPUs: 2}})[0]
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 4, FrameHeight: 4}); err != nil {
		t.Fatal(err)
	}
	sched, err := world.NewScheduler(w, vcpu.New())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{w, sched, guest}
}

type task struct {
	name string
	v    components.VCPU
	t    components.ComputeTask
	pin  components.Pinning
}

func (f *fixture) tasks() []task {
	var out []task
	q := ecs.NewFilter4[components.TaskName, components.VCPU, components.ComputeTask, components.Pinning](f.w.ECS).Query()
	for q.Next() {
		n, v, t, p := q.Get()
		out = append(out, task{n.Text, *v, *t, *p})
	}
	slices.SortFunc(out, func(a, b task) int { return a.v.Index - b.v.Index })
	return out
}

func (f *fixture) setState(st components.GuestState) {
	ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest).State = st
}

func TestRunningGuestHasOneTaskPerVCPUAndTheEmulator(t *testing.T) {
	f := newFixture(t)
	f.sched.Tick(f.w)
	if got := f.tasks(); len(got) != 0 {
		t.Fatalf("a defined guest has tasks: %+v", got)
	}
	f.setState(components.GuestHidden)
	f.sched.Tick(f.w)
	f.sched.Tick(f.w) // a second tick adds nothing more
	got := f.tasks()
	if len(got) != 3 {
		t.Fatalf("tasks = %+v, want emulator + 2 vCPUs", got)
	}
	for i, want := range []string{"linux/emulator", "linux/vcpu0", "linux/vcpu1"} {
		tk := got[i]
		if tk.name != want || tk.v.Guest != "linux" || tk.v.Index != i-1 {
			t.Errorf("task %d = %+v, want %s", i, tk, want)
		}
		wantDemand := float32(vcpu.VCPUDemand)
		if i == 0 {
			wantDemand = vcpu.EmulatorDemand
		}
		if tk.t.Demand != wantDemand || tk.t.Priority != vcpu.VCPUPriority || tk.t.Class != 1<<vcpu.KindCPU {
			t.Errorf("%s: task %+v", want, tk.t)
		}
		// Memory on node 0: the centroid of cpu0 (x 0) and cpu1 (x 1).
		if tk.t.Affinity != (components.Vec3{0.5, 0, 0}) {
			t.Errorf("%s: affinity %v, want node 0's centroid", want, tk.t.Affinity)
		}
		if tk.pin.Applied != -1 || tk.pin.InFlight != -1 || tk.pin.Failed != -1 {
			t.Errorf("%s: pinning %+v before any pin", want, tk.pin)
		}
	}
	for _, st := range []components.GuestState{components.GuestStopped, components.GuestCrashed, components.GuestSuspended} {
		f.setState(components.GuestPresented)
		f.sched.Tick(f.w)
		f.setState(st)
		f.sched.Tick(f.w)
		if got := f.tasks(); len(got) != 0 {
			t.Errorf("a %s guest keeps tasks: %+v", components.GuestStateNames[st], got)
		}
	}
}

func TestCapsShapeTheTasks(t *testing.T) {
	f := newFixture(t)
	caps := ecs.NewMap1[components.CPUCaps](f.w.ECS)
	caps.Add(f.guest, &components.CPUCaps{AllowLo: 0b1010})
	ecs.NewMap1[components.GuestCPUs](f.w.ECS).Get(f.guest).NUMA = 1
	f.setState(components.GuestHidden)
	f.sched.Tick(f.w)
	for _, tk := range f.tasks() {
		if tk.t.AllowLo != 0b1010 || tk.t.AllowHi != 0 {
			t.Errorf("%s: mask %b/%b, want the policy's 1,3", tk.name, tk.t.AllowHi, tk.t.AllowLo)
		}
		if tk.t.Affinity != (components.Vec3{2.5, 0, 0}) {
			t.Errorf("%s: affinity %v, want node 1's centroid", tk.name, tk.t.Affinity)
		}
	}
	// A reload narrows the set and caps the count: the mask follows, the
	// extra vCPU goes.
	*caps.Get(f.guest) = components.CPUCaps{AllowLo: 0b10, Count: 1}
	f.sched.Tick(f.w)
	got := f.tasks()
	if len(got) != 2 || got[1].name != "linux/vcpu0" {
		t.Fatalf("tasks after the cap = %+v", got)
	}
	for _, tk := range got {
		if tk.t.AllowLo != 0b10 {
			t.Errorf("%s: mask %b after the reload, want 10", tk.name, tk.t.AllowLo)
		}
	}
	// More vCPUs than max_vcpus: refused at start; one running anyway is
	// not placed.
	*caps.Get(f.guest) = components.CPUCaps{Max: 1}
	f.sched.Tick(f.w)
	if got := f.tasks(); len(got) != 0 {
		t.Errorf("tasks over max_vcpus = %+v", got)
	}
}
