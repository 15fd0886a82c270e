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

// recorder is an executor that remembers the work it was given and the
// input grants it was told.
type recorder struct {
	jobs   []string
	grants map[string]components.ActionSet
}

func (r *recorder) Execute(source uint64, action components.IntentAction, vm, arg string) {
	r.jobs = append(r.jobs, components.IntentActionNames[action]+" "+vm+" "+arg)
}

func (r *recorder) Grant(vm string, inputs components.ActionSet) {
	if r.grants == nil {
		r.grants = map[string]components.ActionSet{}
	}
	r.grants[vm] = inputs
}

// everything is a Guest.Permitted that the policy denies nothing in.
const everything = components.ActionSet(0xffff)

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
	guest := ecs.NewMap1[components.Guest](w.ECS).NewEntity(&components.Guest{ID: "linux", State: components.GuestHidden, Desktop: world.Ref(desk), Permitted: everything})
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
		Action: action, Target: world.Ref(f.guest), Status: components.IntentAllowed, Source: source, Order: source, Argument: arg,
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
	// Stopped, it is no longer ready: started again, it signals readiness
	// again (and rayos ctl wait guest=ID:ready waits for that).
	if g.State != components.GuestStopped || g.Ready {
		t.Errorf("guest %+v", g)
	}
}

// Requests take effect in the order received, not in storage order: a
// hide received before a type is carried out first, so the type never
// reaches the hidden guest (the allowed envelopes are created in the
// reverse order here, as swap-removal leaves them in the ECS).
func TestEffectsFollowRequestOrder(t *testing.T) {
	f := newFixture(t, nil)
	f.allow(components.ActionPresent, 1, "")
	f.sched.Tick(f.w)
	f.out.Reset()
	typed := f.allow(components.ActionType, 5, "secret")
	f.allow(components.ActionHide, 4, "")
	f.sched.Tick(f.w)
	if typed.Status != components.IntentFailed || !strings.Contains(typed.Detail, "not presented") {
		t.Errorf("type after hide: %+v", typed)
	}
	out := f.out.String()
	hidden, audit := strings.Index(out, "RAYOS_GUEST:linux:hidden"), strings.Index(out, "RAYOS_AUDIT:type:")
	if hidden < 0 || audit < hidden || strings.Contains(out, "delivered") {
		t.Errorf("markers out of request order:\n%s", out)
	}
}

// The policy in force at the moment of carrying out is what counts: an
// allowed envelope whose action the guest is no longer permitted fails.
func TestEffectsCheckThePolicyInForce(t *testing.T) {
	f := newFixture(t, nil)
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	f.allow(components.ActionPresent, 1, "")
	f.sched.Tick(f.w)
	g.Permitted = everything &^ (1 << components.ActionType)
	typed := f.allow(components.ActionType, 2, "x")
	pressed := f.allow(components.ActionPress, 3, "enter")
	f.sched.Tick(f.w)
	if typed.Status != components.IntentFailed || !strings.Contains(typed.Detail, "policy in force does not permit type") {
		t.Errorf("type no longer permitted: %+v", typed)
	}
	if pressed.Status != components.IntentDone || pressed.Detail != "delivered" {
		t.Errorf("press still permitted: %+v", pressed)
	}
}

// One state machine for simulated and real guests: actions from states
// that do not allow them fail and change nothing.
func TestLifecycleStateMachine(t *testing.T) {
	for _, c := range []struct {
		from   components.GuestState
		action components.IntentAction
		to     components.GuestState
		ok     bool
		detail string
	}{
		{components.GuestStopped, components.ActionSuspend, components.GuestStopped, false, "guest linux is stopped, not running"},
		{components.GuestStopped, components.ActionResume, components.GuestStopped, false, "not suspended (start it)"},
		{components.GuestDefined, components.ActionShutdown, components.GuestDefined, false, "not running"},
		{components.GuestSuspended, components.ActionStart, components.GuestSuspended, false, "suspended (resume it)"},
		{components.GuestSuspended, components.ActionPresent, components.GuestSuspended, false, "not running"},
		{components.GuestCrashed, components.ActionType, components.GuestCrashed, false, "not presented"},
		{components.GuestStopped, components.ActionStart, components.GuestHidden, true, "hidden"},
		{components.GuestHidden, components.ActionStart, components.GuestHidden, true, "already running"},
		{components.GuestSuspended, components.ActionSuspend, components.GuestSuspended, true, "already suspended"},
		{components.GuestSuspended, components.ActionResume, components.GuestHidden, true, "hidden"},
		{components.GuestSuspended, components.ActionShutdown, components.GuestStopped, true, "stopped"},
		{components.GuestStopped, components.ActionHide, components.GuestStopped, true, "stopped"},
	} {
		f := newFixture(t, nil)
		g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
		g.State = c.from
		env := f.allow(c.action, 1, "x")
		f.sched.Tick(f.w)
		name := components.IntentActionNames[c.action] + " from " + components.GuestStateNames[c.from]
		if ok := env.Status == components.IntentDone; ok != c.ok || !strings.Contains(env.Detail, c.detail) || g.State != c.to {
			t.Errorf("%s: %s %q, guest %s; want ok=%t %q, %s", name, components.IntentStatusNames[env.Status], env.Detail,
				components.GuestStateNames[g.State], c.ok, c.detail, components.GuestStateNames[c.to])
		}
	}
}

// A presented guest that is suspended leaves the screen and says so, and
// comes back hidden when resumed.
func TestSuspendedGuestLeavesTheScreenAndSaysSo(t *testing.T) {
	f := newFixture(t, nil)
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	f.allow(components.ActionPresent, 1, "")
	f.sched.Tick(f.w)
	f.out.Reset()
	f.allow(components.ActionSuspend, 2, "")
	f.sched.Tick(f.w)
	if !strings.Contains(f.out.String(), "RAYOS_AUDIT:unpresent:guest=linux because=suspended\nRAYOS_GUEST:linux:suspended\n") || g.Presented {
		t.Errorf("suspend of a presented guest:\n%s", f.out.String())
	}
	resumed := f.allow(components.ActionResume, 3, "")
	f.sched.Tick(f.w)
	if resumed.Detail != "hidden" || g.State != components.GuestHidden || g.Presented {
		t.Errorf("resume: %+v, guest %+v", resumed, g)
	}
}

// The executor always knows what may be done to a guest: what the policy
// permits, input kinds only while it is presented.
func TestExecutorGrantsFollowPresentationAndPolicy(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	f.sched.Tick(f.w)
	if got, ok := rec.grants["linux"]; !ok || got != everything&^components.InputActions {
		t.Errorf("hidden guest granted %b (told: %t)", got, ok)
	}
	f.allow(components.ActionPresent, 1, "")
	f.sched.Tick(f.w)
	if got := rec.grants["linux"]; got != everything {
		t.Errorf("presented guest granted %b, want %b", got, everything)
	}
	g.Permitted = everything &^ (1<<components.ActionClick | 1<<components.ActionShutdown) // a reload revoked them
	f.sched.Tick(f.w)
	if got := rec.grants["linux"]; got != g.Permitted {
		t.Errorf("after the revoke: granted %b, want %b", got, g.Permitted)
	}
	f.allow(components.ActionHide, 2, "")
	f.sched.Tick(f.w)
	if got := rec.grants["linux"]; got != g.Permitted&^components.InputActions {
		t.Errorf("hidden again: granted %b", got)
	}
}

// The hypervisor's "started" event can come before the start job's own
// result, and the guest be presented in between: the late result must not
// demote it to hidden while it stays on screen (and hide must still work).
func TestALateStartResultKeepsAPresentedGuestPresented(t *testing.T) {
	rec := &recorder{}
	f := newFixture(t, rec)
	g := ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest)
	s := ecs.NewMap1[components.Surface](f.w.ECS).Get(f.desk)
	g.State = components.GuestStopped
	f.allow(components.ActionStart, 1, "")
	f.sched.Tick(f.w)
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputGuestEvent, Text: "linux started"})
	f.sched.Tick(f.w)
	f.allow(components.ActionPresent, 3, "")
	f.sched.Tick(f.w)
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputEffect, Device: 1, Text: "ok"})
	f.sched.Tick(f.w)
	if g.State != components.GuestPresented || !g.Presented || s.Flags&components.SurfaceVisible == 0 {
		t.Fatalf("after the late result: guest %+v flags %b", g, s.Flags)
	}
	f.allow(components.ActionHide, 4, "")
	f.sched.Tick(f.w)
	if g.State != components.GuestHidden || g.Presented || s.Flags&components.SurfaceVisible != 0 {
		t.Errorf("after hide: guest %+v flags %b", g, s.Flags)
	}
}

// status and pending are answered in their place in the request order:
// a status received after a present sees it, one received before does
// not.
func TestReadsTakeTheirPlaceInTheRequestOrder(t *testing.T) {
	f := newFixture(t, nil)
	read := func(action components.IntentAction, order uint64, arg string) *components.IntentEnvelope {
		e := ecs.NewMap1[components.IntentEnvelope](f.w.ECS).NewEntity(&components.IntentEnvelope{
			Action: action, Status: components.IntentAllowed, Source: order, Order: order, Argument: arg,
		})
		return ecs.NewMap1[components.IntentEnvelope](f.w.ECS).Get(e)
	}
	after := read(components.ActionStatus, 3, "")
	before := read(components.ActionStatus, 1, "linux")
	f.allow(components.ActionPresent, 2, "")
	none := read(components.ActionPending, 4, "")
	f.sched.Tick(f.w)
	if before.Status != components.IntentDone || before.Detail != "linux=hidden" {
		t.Errorf("status before the present: %+v", before)
	}
	if after.Detail != "linux=presented" {
		t.Errorf("status after the present: %+v", after)
	}
	if none.Detail != "none" {
		t.Errorf("pending with nothing waiting: %+v", none)
	}
	if strings.Contains(f.out.String(), "RAYOS_AUDIT:status") {
		t.Errorf("a read was audited as an action:\n%s", f.out.String())
	}
	// A request waiting for confirmation is listed with its id.
	env := f.allow(components.ActionShutdown, 30, "")
	env.Status, env.Client = components.IntentConfirm, 4
	var ref components.EntityRef
	q := ecs.NewFilter1[components.IntentEnvelope](f.w.ECS).Query()
	for q.Next() {
		if q.Get().Source == 30 {
			ref = world.Ref(q.Entity())
		}
	}
	ecs.NewMap1[components.PendingConfirmation](f.w.ECS).NewEntity(&components.PendingConfirmation{Envelope: ref, Rule: "r", Expires: 99})
	listed := read(components.ActionPending, 31, "")
	f.sched.Tick(f.w)
	if listed.Detail != "30 shutdown linux rule=r client=4 expires=99" {
		t.Errorf("pending: %q", listed.Detail)
	}
}
