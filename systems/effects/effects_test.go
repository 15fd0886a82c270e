package effects_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// recorder is an executor that remembers the work it was given.
type recorder struct{ jobs []string }

func (r *recorder) Execute(source uint64, action components.IntentAction, vm, arg string) {
	r.jobs = append(r.jobs, components.IntentActionNames[action]+" "+vm+" "+arg)
}

type fixture struct {
	w     *world.World
	sched *world.Scheduler
	out   *bytes.Buffer
	guest ecs.Entity
	desk  ecs.Entity
}

func newFixture(t *testing.T, exec effects.Executor) *fixture {
	t.Helper()
	out := &bytes.Buffer{}
	w := world.New(world.Config{Hz: 60}, marker.NewBus(out))
	desk := ecs.NewMap1[components.Surface](w.ECS).NewEntity(&components.Surface{})
	guest := ecs.NewMap1[components.Guest](w.ECS).NewEntity(&components.Guest{ID: "linux", State: components.GuestHidden, Desktop: world.Ref(desk)})
	if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 4, FrameHeight: 4}); err != nil {
		t.Fatal(err)
	}
	ecs.AddResource(w.ECS, &effects.Hypervisor{Executor: exec})
	sched, err := world.NewScheduler(w, input.New(), effects.New())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{w, sched, out, guest, desk}
}

func (f *fixture) allow(action components.IntentAction, source uint64, arg string) *components.IntentEnvelope {
	e := ecs.NewMap1[components.IntentEnvelope](f.w.ECS).NewEntity(&components.IntentEnvelope{
		Action: action, Target: world.Ref(f.guest), Status: components.IntentAllowed, Source: source, Argument: arg,
	})
	return ecs.NewMap1[components.IntentEnvelope](f.w.ECS).Get(e)
}

func TestPresentShowsTheDesktopAndHideHidesIt(t *testing.T) {
	f := newFixture(t, nil)
	env := f.allow(components.ActionPresent, 1, "")
	f.sched.Tick(f.w)
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	s := ecs.NewMap1[components.Surface](f.w.ECS).Get(f.desk)
	if env.Status != components.IntentDone || !g.Presented || g.State != components.GuestPresented || s.Flags&components.SurfaceVisible == 0 {
		t.Fatalf("after present: env %+v guest %+v flags %b", env, g, s.Flags)
	}
	if !strings.Contains(f.out.String(), "RAYOS_GUEST:linux:presented\n") || !strings.Contains(f.out.String(), "RAYOS_AUDIT:present:guest=linux source=1 result=ok") {
		t.Errorf("markers:\n%s", f.out.String())
	}
	f.allow(components.ActionHide, 2, "")
	f.sched.Tick(f.w)
	if g.Presented || s.Flags&components.SurfaceVisible != 0 {
		t.Errorf("after hide: guest %+v flags %b", g, s.Flags)
	}
}

func TestHypervisorWorkCompletesFromItsResult(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	env := f.allow(components.ActionSuspend, 7, "")
	typed := f.allow(components.ActionType, 8, "hello")
	f.sched.Tick(f.w)
	if env.Status != components.IntentRunning || len(rec.jobs) != 1 || rec.jobs[0] != "suspend linux " {
		t.Fatalf("suspend was not handed over: %+v %v", env, rec.jobs)
	}
	if typed.Status != components.IntentFailed || !strings.Contains(typed.Detail, "not presented") {
		t.Errorf("typing into a hidden guest: %+v", typed)
	}
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputEffect, Device: 7, Text: "ok"})
	f.sched.Tick(f.w)
	if env.Status != components.IntentDone || g.State != components.GuestSuspended {
		t.Errorf("after the result: %+v, guest %v", env, g.State)
	}
	start := f.allow(components.ActionResume, 9, "")
	f.sched.Tick(f.w)
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputEffect, Device: 9, Text: "err: domain is gone"})
	f.sched.Tick(f.w)
	if start.Status != components.IntentFailed || start.Detail != "domain is gone" {
		t.Errorf("a failed result: %+v", start)
	}
}

func TestHypervisorEventsKeepGuestsTrue(t *testing.T) {
	f := newFixture(t, &recorder{})
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	for _, ev := range []string{"linux crashed", "linux started", "linux ready", "- lost", "linux is:stopped", "- reconciled", "mac started"} {
		f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputGuestEvent, Text: ev})
	}
	f.sched.Tick(f.w)
	want := "RAYOS_GUEST:linux:crashed\nRAYOS_GUEST:linux:hidden\nRAYOS_GUEST:linux:ready\nRAYOS_AUDIT:hypervisor:lost\nRAYOS_GUEST:linux:stopped\nRAYOS_AUDIT:hypervisor:reconciled\n"
	if f.out.String() != want {
		t.Errorf("markers:\n%s\nwant:\n%s", f.out.String(), want)
	}
	if g.State != components.GuestStopped || !g.Ready {
		t.Errorf("guest %+v", g)
	}
}
