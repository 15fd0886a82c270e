package boot_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
)

// demo builds the demo world with the default policy and the full
// pipeline on the CPU backend.
func demo(t testing.TB, seed uint64) (*world.World, *world.Scheduler) {
	t.Helper()
	p, err := policy.Load("default", policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, s, err := boot.BuildWorld(world.Config{Seed: seed, Hz: 60, Scene: "demo"}, gpu.NewCPU(), p)
	if err != nil {
		t.Fatal(err)
	}
	return w, s
}

// The tick must not allocate once the world is warm: a 60 Hz control plane
// that allocates every tick hands the GC a steady job and the tick jitter.
func TestSteadyStateTickDoesNotAllocate(t *testing.T) {
	w, s := demo(t, 1)
	for i := 0; i < 3*60; i++ { // past the first rebalance
		s.Tick(w)
	}
	if allocs := testing.AllocsPerRun(600, func() { s.Tick(w) }); allocs != 0 {
		t.Errorf("steady-state tick allocates %v times", allocs)
	}
	// The same with a gaze input every tick: feeding and consuming inputs
	// reuses storage too.
	look := components.Input{Kind: components.InputGaze, Origin: components.Vec3{0, 1.6, 0}, Direction: components.Vec3{0, 0, -1}}
	for i := 0; i < 10; i++ {
		w.Inbox.Feed(w.Clock, look)
		s.Tick(w)
	}
	if allocs := testing.AllocsPerRun(600, func() { w.Inbox.Feed(w.Clock, look); s.Tick(w) }); allocs != 0 {
		t.Errorf("tick with a gaze input allocates %v times", allocs)
	}
}

func snapshotAfter(t *testing.T, seed uint64, inputs map[uint64]components.Input, ticks int) string {
	w, s := demo(t, seed)
	for i := 0; i < ticks; i++ {
		if in, ok := inputs[w.Clock.Tick+1]; ok {
			w.Inbox.Feed(w.Clock, in)
		}
		s.Tick(w)
	}
	var buf bytes.Buffer
	if err := w.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestSameSeedAndInputsGiveTheSameWorld(t *testing.T) {
	inputs := map[uint64]components.Input{
		3:  {Kind: components.InputText, Text: "start linux"}, // guests begin defined
		5:  {Kind: components.InputGaze, Origin: components.Vec3{0, 1.6, 0}, Direction: components.Vec3{0, 0, -1}},
		9:  {Kind: components.InputVoice, Text: "present linux"},
		30: {Kind: components.InputText, Text: "hide windows"},
	}
	a := snapshotAfter(t, 42, inputs, 200)
	b := snapshotAfter(t, 42, inputs, 200)
	if a != b {
		t.Fatal("two runs with the same seed and inputs differ")
	}
	if c := snapshotAfter(t, 43, inputs, 200); c == a {
		t.Error("a different seed gave the same world: the seed is not used")
	}
	if d := snapshotAfter(t, 42, nil, 200); d == a {
		t.Error("different inputs gave the same world: inputs are not used")
	}
	if !strings.Contains(a, `"presented": true`) {
		t.Error("the voice command did not present the linux guest")
	}
}

func TestDemoWorldPlacesEveryTaskAndStaysPhysical(t *testing.T) {
	w, s := demo(t, 7)
	for i := 0; i < 600; i++ {
		s.Tick(w)
	}
	snap := w.Snapshot()
	placed, tasks := 0, 0
	for _, e := range snap.Entities {
		if p, ok := e.Components["Placement"].(components.Placement); ok {
			tasks++
			if p.Device != 0 {
				placed++
			}
		}
		if d, ok := e.Components["Device"].(components.Device); ok {
			if d.Load > d.Capacity || math.IsNaN(float64(d.Temperature)) || d.Temperature < 20 || d.Temperature > 90 {
				t.Errorf("device out of bounds: %+v", d)
			}
		}
	}
	if tasks != 32 || placed != tasks {
		t.Errorf("%d of %d tasks placed", placed, tasks)
	}
}
