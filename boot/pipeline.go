package boot

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/compose"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/systems/prompt"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/systems/vcpu"
	"github.com/rayos/engine/systems/workload"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/scene"
)

// Pipeline returns a fresh instance of every tick system, in run order.
// The order is the design's: input → attention → prompt focus → input broker → prompt → intent resolution →
// host requests → policy gating → effects → host ACKs → workload churn → vCPU tasks →
// spatial scheduling → composition → GPU sync. gpu-submit, last, collects
// the GPU run of the previous tick (it ran on the device while this tick's
// systems ran on the CPU) and starts the next one.
func Pipeline() []world.System {
	return []world.System{
		input.New(),
		attention.NewDecay(),
		attention.New(),
		prompt.NewFocus(),
		input.NewBroker(),
		prompt.New(),
		intent.New(),
		bridge.NewRequests(),
		policy.NewGate(),
		effects.New(),
		bridge.NewAcks(),
		workload.New(),
		vcpu.New(),
		schedule.New(),
		compose.New(),
		gpusync.NewSubmit(),
	}
}

// Assemble installs the GPU mirror of w on backend and initialises the
// pipeline on w: what every runtime, tool and test that ticks a full world
// does after building its scene. The policy in force must be installed
// first (policy.Install); without one the gate refuses to start.
func Assemble(w *world.World, backend gpu.Backend) (*world.Scheduler, *gpu.Mirror, error) {
	mirror, err := gpu.Install(w.ECS, backend, gpu.DefaultMirrorConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("gpu mirror: %w", err)
	}
	if ecs.GetResource[bridge.Outbox](w.ECS) == nil {
		bridge.Install(w.ECS)
	}
	if ecs.GetResource[effects.Hypervisor](w.ECS) == nil {
		ecs.AddResource(w.ECS, &effects.Hypervisor{}) // simulated until a real one is attached
	}
	sched, err := world.NewScheduler(w, Pipeline()...)
	if err != nil {
		return nil, nil, err
	}
	return sched, mirror, nil
}

// BuildWorld builds a scene's world with the policy p in force and the
// full pipeline assembled on backend, ready to tick: what tests, tools and
// benchmarks use when they need a whole world without a boot.
func BuildWorld(cfg world.Config, backend gpu.Backend, p *policy.Policy) (*world.World, *world.Scheduler, error) {
	w := world.New(cfg, nil)
	if _, err := scene.Build(cfg.Scene, w); err != nil {
		return nil, nil, err
	}
	reg, err := guests.ParseRegistry("default registry", guests.DefaultRegistry)
	if err != nil {
		return nil, nil, err
	}
	scene.AddGuests(w, GuestSpecs(reg))
	policy.Install(w.ECS, p)
	sched, _, err := Assemble(w, backend)
	return w, sched, err
}

// GuestLimits is what policy p allows guest id, in the supervisor's terms.
// A guest the policy does not name, or a restricted policy, gets nothing:
// no network, no virtio devices, no caps beyond the registry's.
func GuestLimits(p *policy.Policy, id string) guests.Limits {
	g, ok := p.File.Guests[id]
	if !ok || p.Restricted {
		return guests.Limits{}
	}
	return guests.Limits{Network: g.Network, CPUs: g.CPUs.Count, MemoryMiB: g.MemoryMiB, Devices: g.Devices}
}

// GuestSpecs lists a registry's VMs as scene guests, in id order.
func GuestSpecs(r *guests.Registry) []scene.GuestSpec {
	var specs []scene.GuestSpec
	for _, id := range r.IDs() {
		specs = append(specs, scene.GuestSpec{ID: id, OS: osKind(r.VMs[id].OS), Label: r.VMs[id].TrustLabel(), VCPUs: r.VMs[id].VCPUs})
	}
	return specs
}

// JournalGuest is a guest as a journal's header lists it:
// "id:os:label", with ":vcpus" when it has more than one (journals from
// before trust labels have "id:os"), so that a replay makes the same vCPU
// tasks.
func JournalGuest(g scene.GuestSpec) string {
	text := g.ID + ":" + components.OSKindNames[g.OS] + ":" + components.TrustLabelNames[g.Label]
	if g.VCPUs > 1 {
		text += ":" + strconv.Itoa(g.VCPUs)
	}
	return text
}

// ParseJournalGuest reads JournalGuest's form; a missing or unknown label
// is red, the default, and a missing or bad vCPU count is 1.
func ParseJournalGuest(text string) scene.GuestSpec {
	id, rest, _ := strings.Cut(text, ":")
	osName, rest, _ := strings.Cut(rest, ":")
	label, vcpus, _ := strings.Cut(rest, ":")
	l, _ := components.ParseTrustLabel(label)
	n, err := strconv.Atoi(vcpus)
	if err != nil || n < 1 || n > 256 {
		n = 1
	}
	return scene.GuestSpec{ID: id, OS: osKind(osName), Label: l, VCPUs: n}
}

// osKind maps a registry OS name to the component's kind.
func osKind(name string) components.OSKind {
	if name == "windows" {
		return components.OSWindows
	}
	return components.OSLinux
}
