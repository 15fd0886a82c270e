package effects

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// Pinner is an executor that can pin a guest's vCPU (or, for vcpu -1, its
// emulator thread) to one host CPU off the tick. The result comes back as
// an effect input whose Text is components.PinText's. An executor that is
// not a Pinner (a replay's) pins nothing: its results are in the journal.
type Pinner interface {
	Pin(vm string, vcpu, cpu int)
}

// pinner holds what pinning reads, set up in Init.
type pinner struct {
	vcpus   *ecs.Filter3[components.VCPU, components.Placement, components.Pinning]
	devices *ecs.Filter2[components.Device, components.FabricNode]
	guestsC *ecs.Filter1[components.Guest]
	capsOf  *ecs.Map1[components.CPUCaps]
	pinning *ecs.Map2[components.VCPU, components.Pinning]
	cpuOf   map[uint32]int
	caps    map[string]components.CPUCaps
	running map[string]bool
}

func (p *pinner) init(w *world.World) {
	p.vcpus = ecs.NewFilter3[components.VCPU, components.Placement, components.Pinning](w.ECS).Register()
	p.devices = ecs.NewFilter2[components.Device, components.FabricNode](w.ECS).Register()
	p.guestsC = ecs.NewFilter1[components.Guest](w.ECS).Register()
	p.capsOf = ecs.NewMap1[components.CPUCaps](w.ECS)
	p.pinning = ecs.NewMap2[components.VCPU, components.Pinning](w.ECS)
	p.cpuOf, p.caps, p.running = map[uint32]int{}, map[string]components.CPUCaps{}, map[string]bool{}
}

// pins issues a pin for every vCPU task whose placement names a host CPU
// other than the one last applied: one in flight per task (a placement
// that changes meanwhile is pinned once the result is in: only the latest
// counts), none again for a CPU the hypervisor refused until the
// placement changes, and none the policy's CPU set forbids.
func (s *System) pins(w *world.World) {
	p := &s.pin
	q := p.vcpus.Query()
	if q.Count() == 0 {
		q.Close()
		return
	}
	q.Close()
	clear(p.cpuOf)
	dq := p.devices.Query()
	for dq.Next() {
		if _, f := dq.Get(); f.CPU >= 0 {
			p.cpuOf[dq.Entity().ID()] = f.CPU
		}
	}
	clear(p.caps)
	clear(p.running)
	gq := p.guestsC.Query()
	for gq.Next() {
		g := gq.Get()
		if p.capsOf.HasAll(gq.Entity()) {
			p.caps[g.ID] = *p.capsOf.Get(gq.Entity())
		}
		p.running[g.ID] = g.State == components.GuestStarting || g.State == components.GuestHidden || g.State == components.GuestPresented
	}
	q = p.vcpus.Query()
	for q.Next() {
		v, pl, pin := q.Get()
		cpu, ok := p.cpuOf[pl.Device]
		if pl.Device == 0 || !ok || pin.InFlight >= 0 || cpu == pin.Applied || cpu == pin.Failed {
			continue
		}
		if !p.running[v.Guest] {
			continue // a stopping guest's tasks go next tick
		}
		if c := p.caps[v.Guest]; !c.Allows(cpu) {
			pin.Failed = cpu
			w.Emit(marker.PolicyViolation("guests."+v.Guest+".cpus", fmt.Sprintf("pin guest=%s vcpu=%s cpu=%d: not in the policy's CPU set, not applied", v.Guest, vcpuName(v.Index), cpu)))
			continue
		}
		switch ex := s.hv.Executor.(type) {
		case nil: // simulated: done at once
			s.pinned(w, pin, v, cpu, "ok")
		case Pinner:
			pin.InFlight = cpu
			ex.Pin(v.Guest, v.Index, cpu)
		default: // a replay: the journal holds the result
			pin.InFlight = cpu
		}
	}
}

// pinResult applies a pin's result (components.PinText) to its task.
func (s *System) pinResult(w *world.World, text string) {
	f := strings.SplitN(text, " ", 5)
	if len(f) < 5 {
		w.Log().Warn("effects: malformed pin result", "text", text)
		return
	}
	vcpu, err1 := strconv.Atoi(f[2])
	cpu, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		w.Log().Warn("effects: malformed pin result", "text", text)
		return
	}
	q := s.pin.vcpus.Query()
	for q.Next() {
		v, _, pin := q.Get()
		if v.Guest == f[1] && v.Index == vcpu {
			s.pinned(w, pin, v, cpu, f[4])
		}
	}
}

// pinned records a pin's outcome, audited: the task's applied CPU moves
// only on success; a refusal is remembered so that it is not retried.
func (s *System) pinned(w *world.World, pin *components.Pinning, v *components.VCPU, cpu int, result string) {
	pin.InFlight = -1
	if result == "ok" {
		pin.Applied, pin.Failed = cpu, -1
	} else {
		// Like the other audits, "result=err <why>": a marker's fields
		// carry no ':'.
		pin.Failed = cpu
		result = "err " + strings.TrimPrefix(result, "err: ")
	}
	w.Emit(marker.Audit("pin", fmt.Sprintf("guest=%s vcpu=%s cpu=%d result=%s", v.Guest, vcpuName(v.Index), cpu, result)))
}

func vcpuName(i int) string {
	if i < 0 {
		return "emulator"
	}
	return strconv.Itoa(i)
}
