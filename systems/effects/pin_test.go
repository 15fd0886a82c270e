package effects_test

import (
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/effects"
)

// pinRecorder is an executor that pins: it remembers each pin asked for.
type pinRecorder struct {
	recorder
	pins []string
}

func (r *pinRecorder) Pin(vm string, vcpu, cpu int) {
	r.pins = append(r.pins, components.PinText(vm, vcpu, cpu, ""))
}

var _ effects.Pinner = (*pinRecorder)(nil)

// addCPUs gives the fixture's world host CPUs 0–2 as devices and linux's
// vCPU 0 as a task; it returns the devices and the task's placement and
// pinning.
func addCPUs(f *fixture) ([]ecs.Entity, ecs.Entity) {
	devs := ecs.NewMap2[components.Device, components.FabricNode](f.w.ECS)
	var out []ecs.Entity
	for i := range 3 {
		out = append(out, devs.NewEntity(&components.Device{Capacity: 1, Kind: 1}, &components.FabricNode{CPU: i}))
	}
	task := ecs.NewMap3[components.VCPU, components.Placement, components.Pinning](f.w.ECS).NewEntity(
		&components.VCPU{Guest: "linux", Index: 0}, &components.Placement{}, &components.Pinning{Applied: -1, InFlight: -1, Failed: -1})
	return out, task
}

func place(f *fixture, task, dev ecs.Entity) {
	ecs.NewMap1[components.Placement](f.w.ECS).Get(task).Device = dev.ID()
}

func pinning(f *fixture, task ecs.Entity) components.Pinning {
	return *ecs.NewMap1[components.Pinning](f.w.ECS).Get(task)
}

func TestSimulatedPinsApplyAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	devs, task := addCPUs(f)
	f.sched.Tick(f.w)
	if p := pinning(f, task); p.Applied != -1 || strings.Contains(f.out.String(), "pin") {
		t.Fatalf("an unplaced task was pinned: %+v\n%s", p, f.out.String())
	}
	place(f, task, devs[2])
	f.sched.Tick(f.w)
	f.sched.Tick(f.w) // nothing more to apply
	if p := pinning(f, task); p.Applied != 2 || p.InFlight != -1 {
		t.Errorf("pinning %+v, want cpu 2 applied", p)
	}
	if n := strings.Count(f.out.String(), "RAYOS_AUDIT:pin:guest=linux vcpu=0 cpu=2 result=ok\n"); n != 1 {
		t.Errorf("%d pin audits, want 1:\n%s", n, f.out.String())
	}
}

func TestPinsGoThroughTheExecutorOneAtATime(t *testing.T) {
	rec := &pinRecorder{}
	f := newFixture(t, rec)
	devs, task := addCPUs(f)
	place(f, task, devs[1])
	f.sched.Tick(f.w)
	place(f, task, devs[2]) // moved again while the first pin is out
	f.sched.Tick(f.w)
	if len(rec.pins) != 1 || rec.pins[0] != "pin linux 0 1 " {
		t.Fatalf("pins %q, want one for cpu 1 while it is in flight", rec.pins)
	}
	if p := pinning(f, task); p.InFlight != 1 || p.Applied != -1 {
		t.Errorf("in flight: %+v", p)
	}
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputEffect, Text: components.PinText("linux", 0, 1, "ok")})
	f.sched.Tick(f.w)
	// The result is in: the latest placement (cpu 2) goes out, the stale
	// one's success is recorded as what the hypervisor holds.
	if p := pinning(f, task); p.Applied != 1 || p.InFlight != 2 || len(rec.pins) != 2 || rec.pins[1] != "pin linux 0 2 " {
		t.Errorf("after the first result: %+v pins %q", p, rec.pins)
	}
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputEffect, Text: components.PinText("linux", 0, 2, "err: invalid cpumap")})
	for range 5 {
		f.sched.Tick(f.w)
	}
	// Refused: the world keeps the last applied CPU and does not retry.
	if p := pinning(f, task); p.Applied != 1 || p.InFlight != -1 || p.Failed != 2 || len(rec.pins) != 2 {
		t.Errorf("after a refusal: %+v pins %q", p, rec.pins)
	}
	if !strings.Contains(f.out.String(), "RAYOS_AUDIT:pin:guest=linux vcpu=0 cpu=2 result=err invalid cpumap\n") {
		t.Errorf("no err audit:\n%s", f.out.String())
	}
	// A new placement is tried; a malformed result changes nothing.
	place(f, task, devs[0])
	f.w.Inbox.Feed(f.w.Clock, components.Input{Kind: components.InputEffect, Text: "pin linux zero 1 ok"})
	f.sched.Tick(f.w)
	if p := pinning(f, task); p.Applied != 1 || p.InFlight != 0 || len(rec.pins) != 3 {
		t.Errorf("after a new placement: %+v pins %q", p, rec.pins)
	}
}

func TestPinsTheCPUSetForbidsAreNeverApplied(t *testing.T) {
	rec := &pinRecorder{}
	f := newFixture(t, rec)
	devs, task := addCPUs(f)
	ecs.NewMap1[components.CPUCaps](f.w.ECS).Add(f.guest, &components.CPUCaps{AllowLo: 0b011})
	place(f, task, devs[2])
	f.sched.Tick(f.w)
	f.sched.Tick(f.w)
	if len(rec.pins) != 0 || pinning(f, task).Applied != -1 {
		t.Errorf("a forbidden CPU was pinned: %q %+v", rec.pins, pinning(f, task))
	}
	if n := strings.Count(f.out.String(), "RAYOS_POLICY_VIOLATION:guests.linux.cpus:pin guest=linux vcpu=0 cpu=2"); n != 1 {
		t.Errorf("%d violations, want 1:\n%s", n, f.out.String())
	}
	place(f, task, devs[1])
	f.sched.Tick(f.w)
	if len(rec.pins) != 1 || rec.pins[0] != "pin linux 0 1 " {
		t.Errorf("an allowed CPU was not pinned: %q", rec.pins)
	}
}

func TestStoppedGuestsAreNotPinned(t *testing.T) {
	rec := &pinRecorder{}
	f := newFixture(t, rec)
	devs, task := addCPUs(f)
	ecs.NewMap1[components.Guest](f.w.ECS).Get(f.guest).State = components.GuestStopped
	place(f, task, devs[1])
	f.sched.Tick(f.w)
	if len(rec.pins) != 0 {
		t.Errorf("a stopped guest was pinned: %q", rec.pins)
	}
}
