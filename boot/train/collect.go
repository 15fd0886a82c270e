package train

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/scene"
)

// Collect replays j the way `rayos replay` does — the world its header
// describes, the real pipeline on the CPU backend, every input fed before
// its tick — with an intent.Recorder installed, and returns every
// utterance the intent system weighed candidates for. So the features
// trained on are exactly the ones the tick computes. progress, when set,
// is called after every tick.
//
// m is the model the intent system resolves with during the replay; nil
// means what `rayos replay` uses: the weights the journal's header carries
// (rayos boot --attention), else the embedded default. It matters because
// the recency feature follows the resolver's own choices: a journal
// replayed with the weights being re-trained would give features that
// depend on those weights, and the default weights could never be re-made
// byte for byte. Synthetic journals carry ReplayModel in their header.
func Collect(j *world.Journal, m *model.Model, progress func(tick uint64)) ([]intent.Utterance, error) {
	h := j.Header
	if err := scene.Known(h.Scene); err != nil {
		return nil, fmt.Errorf("journal header: %w", err)
	}
	if m == nil && h.Attention != "" {
		var err error
		if m, err = model.Parse("journal header attention", []byte(h.Attention)); err != nil {
			return nil, err
		}
	}
	if m == nil {
		m = model.Default()
	}
	w := world.New(world.Config{Seed: h.Seed, Hz: h.Hz, Scene: h.Scene}, nil)
	w.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := scene.Build(h.Scene, w); err != nil {
		return nil, err
	}
	var specs []scene.GuestSpec
	for _, g := range h.Guests {
		specs = append(specs, boot.ParseJournalGuest(g))
	}
	scene.AddGuests(w, specs)
	p := policy.RestrictedPolicy("no policy")
	if h.Policy != "" {
		var err error
		if p, err = policy.Load("journal policy", h.Policy); err != nil {
			// A replay runs restricted then, as the recorded run did.
			p = policy.RestrictedPolicy(err.Error())
		}
	}
	policy.Install(w.ECS, p)
	hv := &effects.Hypervisor{}
	if h.Hypervisor != "" {
		hv.Executor = recorded{} // the results are in the journal
	}
	ecs.AddResource(w.ECS, hv)
	rec := &intent.Recorder{}
	ecs.AddResource(w.ECS, rec)
	backend := gpu.NewCPU()
	defer backend.Close()
	sched, err := assemble(w, backend, m)
	if err != nil {
		return nil, err
	}
	outbox := ecs.GetResource[bridge.Outbox](w.ECS)
	events := j.Events
	for end := j.LastTick(); w.Clock.Tick < end; {
		next := w.Clock.Tick + 1
		for len(events) > 0 && events[0].Tick <= next {
			in, err := events[0].Input.ToInput()
			if err != nil {
				return nil, err // ReadJournal validated it; a hand-built journal may not be
			}
			w.Inbox.Feed(w.Clock, in)
			events = events[1:]
		}
		sched.Tick(w)
		outbox.Acks = outbox.Acks[:0] // nobody waits on a socket during training
		if progress != nil {
			progress(w.Clock.Tick)
		}
	}
	return rec.Utterances, nil
}

// assemble is boot.Assemble with the intent system resolving with m: the
// same systems in the same order, the same mirror and bridge.
func assemble(w *world.World, backend gpu.Backend, m *model.Model) (*world.Scheduler, error) {
	if _, err := gpu.Install(w.ECS, backend, gpu.DefaultMirrorConfig); err != nil {
		return nil, fmt.Errorf("gpu mirror: %w", err)
	}
	bridge.Install(w.ECS)
	systems := boot.Pipeline()
	replaced := false
	for i, s := range systems {
		if _, ok := s.(*intent.System); ok {
			systems[i], replaced = intent.NewWithModel(m), true
		}
	}
	if !replaced {
		return nil, fmt.Errorf("the pipeline has no intent system to record")
	}
	return world.NewScheduler(w, systems...)
}

// recorded carries out nothing: a journal recorded with a real hypervisor
// holds its results as inputs.
type recorded struct{}

func (recorded) Execute(uint64, components.IntentAction, string, string) {}
func (recorded) Grant(string, components.ActionSet)                      {}
