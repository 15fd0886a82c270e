package bench

import (
	"fmt"
	"math"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/world"
)

// Intent resolution with the attention model, at the size: 64
// guests, each with its desktop surface, and 256 attention rays whose hit
// tests (the GPU's, two ticks back) landed on random desktops. Every
// iteration is one tick in which the user says "hide it": the intent
// system parses it, builds the 64 candidates from the rays, the focus and
// recency, and scores them with the model.
const (
	benchGuests = 64
	benchRays   = 256
)

// intentWorld builds that world; hits[i] is ray i's guest.
func intentWorld(b *testing.B) (*world.World, []int) {
	w := world.New(world.Config{Seed: 1, Hz: 60}, nil)
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	guests := ecs.NewMap1[components.Guest](w.ECS)
	desktops := make([]ecs.Entity, benchGuests)
	for i := range desktops {
		n := uint32(i + 1)
		desktops[i] = surfaces.NewEntity(&components.Surface{Owner: n})
		guests.NewEntity(&components.Guest{ID: fmt.Sprintf("vm%d", i), Number: n, OS: components.OSLinux,
			State: components.GuestPresented, Presented: true, Desktop: world.Ref(desktops[i])})
	}
	rays := ecs.NewMap1[components.AttentionRay](w.ECS)
	hits := make([]int, benchRays)
	for i := range hits {
		hits[i] = w.RNG.IntN(benchGuests)
		rays.NewEntity(&components.AttentionRay{Weight: 1 - float32(w.RNG.Float64()), Hit: desktops[hits[i]].ID(),
			HitT: 1 + float32(w.RNG.Float64()), Device: uint32(i)})
	}
	*w.Focus = components.Focus{Surface: world.Ref(desktops[7]), Owner: 8, Weight: 1}
	return w, hits
}

func BenchmarkIntentAttention(b *testing.B) {
	b.Run("system", func(b *testing.B) {
		w, _ := intentWorld(b)
		sched, err := world.NewScheduler(w, input.New(), intent.New())
		if err != nil {
			b.Fatal(err)
		}
		envelopes := ecs.NewFilter1[components.IntentEnvelope](w.ECS)
		b.ReportAllocs()
		for b.Loop() {
			w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputVoice, Text: "hide it"})
			sched.Tick(w)
			// Nothing downstream consumes the envelopes here; clear them
			// so that every tick finds the same world.
			w.ECS.RemoveEntities(envelopes.Batch(), nil)
		}
	})
	// The baseline: the same work by hand on plain slices — the 64
	// candidates from the 256 hits, their features, the model's softmax —
	// without the ECS, the parse or the markers.
	b.Run("hand", func(b *testing.B) {
		w, hits := intentWorld(b)
		weights := make([]float32, benchRays)
		hitT := make([]float32, benchRays)
		q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
		for i := 0; q.Next(); i++ {
			weights[i], hitT[i] = q.Get().Weight, q.Get().HitT
		}
		m := model.Default()
		cands := make([]model.Candidate, benchGuests)
		feats := make([]model.Features, benchGuests)
		probs := make([]float32, benchGuests)
		fadePerTick := w.Clock.Dt.Seconds()
		b.ReportAllocs()
		for b.Loop() {
			for i := range cands {
				cands[i] = model.Candidate{IdleTicks: math.MaxUint64, StateFit: 1}
			}
			cands[7].DwellTicks = 60
			for i, g := range hits {
				c := &cands[g]
				c.Gaze += weights[i] * float32(math.Exp2(-fadePerTick))
				if c.HitT == 0 || hitT[i] < c.HitT {
					c.HitT = hitT[i]
				}
			}
			for i := range cands {
				feats[i] = cands[i].Features(60)
			}
			m.Probabilities(feats, probs)
		}
	})
}

// The stress world's whole tick, with and without an utterance in it:
// what resolving one costs a busy world.
func BenchmarkStressTickUtterance(b *testing.B) {
	for _, say := range []bool{false, true} {
		b.Run(fmt.Sprintf("utterance=%v", say), func(b *testing.B) {
			w, sched := warmWorld(b, "stress")
			b.ReportAllocs()
			for b.Loop() {
				if say {
					w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputVoice, Text: "hide it"})
				}
				sched.Tick(w)
			}
		})
	}
}
