package gpu

import (
	"math/rand/v2"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// The task → device array is kept, not rebuilt per run: as tasks come and
// go (slots move), are placed (SetPlacement) and devices come and go
// (device slots renumber), what the place kernel reads is always what a
// full rebuild from the placements would give.
func TestTaskDeviceArrayFollowsTasksAndPlacements(t *testing.T) {
	w := ecs.NewWorld()
	m, err := Install(w, NewCPU(), MirrorConfig{FrameWidth: 4, FrameHeight: 4, Weights: DefaultMirrorConfig.Weights})
	if err != nil {
		t.Fatal(err)
	}
	devices := ecs.NewMap1[components.Device](w)
	tasks := ecs.NewMap2[components.ComputeTask, components.Placement](w)
	placements := ecs.NewMap1[components.Placement](w)
	r := rand.New(rand.NewPCG(1, 2))
	var devs, live []ecs.Entity
	for range 8 {
		devs = append(devs, devices.NewEntity(&components.Device{Capacity: 100}))
	}
	place := func(task ecs.Entity) {
		d := devs[r.IntN(len(devs))]
		if r.IntN(4) == 0 {
			d = ecs.Entity{}
		}
		placements.Get(task).Device = d.ID()
		m.SetPlacement(task, d)
	}
	for round := range 200 {
		for range r.IntN(20) {
			e := tasks.NewEntity(&components.ComputeTask{Demand: 1}, &components.Placement{})
			live = append(live, e)
		}
		for range r.IntN(10) {
			if len(live) > 0 {
				i := r.IntN(len(live))
				w.RemoveEntity(live[i])
				live = append(live[:i], live[i+1:]...)
			}
		}
		for range r.IntN(20) {
			if len(live) > 0 {
				place(live[r.IntN(len(live))])
			}
		}
		if round%37 == 36 { // a device leaves: device slots renumber
			i := r.IntN(len(devs))
			w.RemoveEntity(devs[i])
			devs = append(devs[:i], devs[i+1:]...)
			devs = append(devs, devices.NewEntity(&components.Device{Capacity: 100}))
		}
		m.PlaceRequested = true
		if err := m.Submit(); err != nil {
			t.Fatal(err)
		}
		n := m.Tasks.Len()
		got := make([]uint32, n)
		if err := Fetch(m.Backend, m.current, 0, Bytes(got)); err != nil {
			t.Fatal(err)
		}
		for slot, e := range m.Tasks.entities {
			want := uint32(0)
			if d, ok := m.Devices.SlotOfID(placements.Get(e).Device); ok {
				want = uint32(d + 1)
			}
			if got[slot] != want {
				t.Fatalf("round %d: task slot %d holds %d, its placement says %d", round, slot, got[slot], want)
			}
		}
	}
}
