package gpu

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// The task → device array is kept, not rebuilt per run: as tasks come and
// go (slots move), are placed (SetPlacement) or turned away (SetWaiting)
// and devices come and go
// (device slots renumber), what the place kernel reads is always what a
// full rebuild from the placements would give.
func TestTaskDeviceArrayFollowsTasksAndPlacements(t *testing.T) {
	w, m, devices, tasks := placeWorld(t)
	placements := ecs.NewMap1[components.Placement](w)
	r := rand.New(rand.NewPCG(1, 2))
	var devs, live []ecs.Entity
	for range 8 {
		devs = append(devs, devices.NewEntity(&components.Device{Capacity: 100}))
	}
	place := func(task ecs.Entity) {
		d := devs[r.IntN(len(devs))]
		switch r.IntN(6) {
		case 0:
			d = ecs.Entity{}
		case 1: // turned away: waits, as the scheduler records it
			*placements.Get(task) = components.Placement{Tick: 7}
			m.SetWaiting(task)
			return
		}
		*placements.Get(task) = components.Placement{Device: d.ID()}
		if !d.IsZero() {
			placements.Get(task).Tick = 7
		}
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
			if pl := placements.Get(e); pl.Device == 0 && pl.Tick != 0 {
				want = Waiting
			} else if d, ok := m.Devices.SlotOfID(pl.Device); ok {
				want = uint32(d + 1)
			}
			if got[slot] != want {
				t.Fatalf("round %d: task slot %d holds %d, its placement says %d", round, slot, got[slot], want)
			}
		}
	}
}

// The hit test runs only for what changed: nothing at all in a world where
// neither rays nor surfaces changed, only the changed rays when no surface
// did, every ray when one did — and the results stay those of a full test.
func TestHitTestsOnlyWhatChanged(t *testing.T) {
	for _, backend := range []Backend{NewCPU(), mustVulkan(t)} {
		w := ecs.NewWorld()
		m, err := Install(w, backend, MirrorConfig{FrameWidth: 4, FrameHeight: 4, Weights: DefaultMirrorConfig.Weights})
		if err != nil {
			t.Fatal(err)
		}
		surfaces := ecs.NewMap1[components.Surface](w)
		rays := ecs.NewMap1[components.AttentionRay](w)
		var walls, looking []ecs.Entity
		for i := range 4 {
			walls = append(walls, surfaces.NewEntity(&components.Surface{Center: components.Vec3{float32(10 * i), 0, -2},
				Right: components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0}, HalfWidth: 1, HalfHeight: 1, Flags: components.SurfaceVisible}))
		}
		for i := range 40 {
			looking = append(looking, rays.NewEntity(&components.AttentionRay{Origin: components.Vec3{float32(10 * (i % 4)), 0, 0},
				Direction: components.Vec3{0, 0, -1}, Weight: 1}))
		}
		submit := func() {
			t.Helper()
			if err := errors.Join(m.Submit(), m.Collect()); err != nil {
				t.Fatal(err)
			}
		}
		hitOf := func(ray ecs.Entity) ecs.Entity {
			s, _, ok, current := m.HitOf(ray)
			if !current || !ok {
				return ecs.Entity{}
			}
			return s
		}
		submit()
		if !m.hitRuns || m.params.hit[0].DirtyOnly != 0 || hitOf(looking[5]) != walls[1] {
			t.Fatalf("%s: first run: runs %t, dirty-only %d, ray 5 hits %v", backend.Info().Backend, m.hitRuns, m.params.hit[0].DirtyOnly, hitOf(looking[5]))
		}
		submit()
		if m.hitRuns {
			t.Errorf("%s: nothing changed, yet the hit test ran", backend.Info().Backend)
		}
		rays.Get(looking[5]).Origin[0] = 30 // now looking at wall 3
		m.Rays.Mark(looking[5])
		submit()
		if !m.hitRuns || m.params.hit[0].DirtyOnly != 1 || hitOf(looking[5]) != walls[3] || hitOf(looking[6]) != walls[2] {
			t.Errorf("%s: one ray moved: runs %t, dirty-only %d, ray 5 hits %v, ray 6 %v", backend.Info().Backend,
				m.hitRuns, m.params.hit[0].DirtyOnly, hitOf(looking[5]), hitOf(looking[6]))
		}
		surfaces.Get(walls[2]).Flags = 0 // hidden: every ray is tested again
		m.Surfaces.Mark(walls[2])
		submit()
		if !m.hitRuns || m.params.hit[0].DirtyOnly != 0 || hitOf(looking[6]) != (ecs.Entity{}) || hitOf(looking[5]) != walls[3] {
			t.Errorf("%s: a surface changed: runs %t, dirty-only %d, ray 6 hits %v", backend.Info().Backend, m.hitRuns, m.params.hit[0].DirtyOnly, hitOf(looking[6]))
		}
	}
}

func mustVulkan(t *testing.T) Backend {
	t.Helper()
	vk, err := NewVulkan()
	if err != nil {
		t.Fatalf("Vulkan backend: %v (run `make deps`)", err)
	}
	t.Cleanup(func() { vk.Close() })
	return vk
}

// The clusters the place kernel prunes with follow the devices — moved,
// added, removed, or unusable for a bound (a NaN position turns pruning
// off) — and a run's decisions are always those of evaluating every
// device of the world it was submitted with.
func TestClustersFollowTheDevices(t *testing.T) {
	w, m, devices, tasks := placeWorld(t)
	r := rand.New(rand.NewPCG(5, 6))
	at := func(i int) components.Vec3 {
		return components.Vec3{6*float32(i/16%8) + 0.15*float32(i%4), 0, -6*float32(i/128) + 0.15*float32(i%16/4)}
	}
	var devs []ecs.Entity
	for i := range 96 {
		devs = append(devs, devices.NewEntity(&components.Device{Position: at(i), Capacity: 50, Temperature: 40, EnergyCost: 1, Kind: uint32(i % 3)}))
	}
	for range 3000 {
		near := at(r.IntN(96))
		tasks.NewEntity(&components.ComputeTask{Affinity: components.Vec3{near[0] + float32(r.NormFloat64()), 0, near[2] + float32(r.NormFloat64())},
			Demand: float32(1 + r.IntN(20)), Priority: float32(r.IntN(3))}, &components.Placement{})
	}
	pruned := 0
	for round := range 40 {
		nan := false
		switch round % 5 {
		case 1: // a device moves
			devices.Get(devs[r.IntN(len(devs))]).Position[0] += float32(r.NormFloat64() * 3)
		case 2: // one leaves, one joins: device slots renumber
			i := r.IntN(len(devs))
			w.RemoveEntity(devs[i])
			devs[i] = devices.NewEntity(&components.Device{Position: at(r.IntN(200)), Capacity: 50, Temperature: 40, EnergyCost: 1})
		case 3:
			if round == 13 {
				devices.Get(devs[7]).Position[1] = float32(math.NaN())
				nan = true
			}
		case 4:
			devices.Get(devs[7]).Position[1] = 0
		}
		for _, e := range devs {
			m.Devices.Mark(e)
		}
		m.PlaceRequested = true
		if err := m.Submit(); err != nil {
			t.Fatal(err)
		}
		// The world the run saw, as the kernel saw it.
		p := m.params.place[0]
		devsNow := slices.Clone(m.hostDevices)
		taskNow := make([]components.ComputeTask, m.Tasks.Len())
		for slot, e := range m.Tasks.entities {
			task, _ := tasks.Get(e)
			taskNow[slot] = *task
		}
		current := slices.Clone(m.hostCurrent[:len(taskNow)])
		if nan != (p.ClusterCount == 0) {
			t.Fatalf("round %d: %d clusters with a NaN device %v", round, p.ClusterCount, nan)
		}
		if p.ClusterCount > 0 {
			pruned++
			wantClusters, wantOrder := BuildClusters(devsNow, nil, nil)
			gotClusters, gotOrder := make([]Cluster, p.ClusterCount), make([]uint32, len(devsNow))
			if err := errors.Join(Fetch(m.Backend, m.clusters, 0, Bytes(gotClusters)), Fetch(m.Backend, m.placeOrder, 0, Bytes(gotOrder))); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotClusters, wantClusters) || !slices.Equal(gotOrder, wantOrder) {
				t.Fatalf("round %d: the buffers hold stale clusters", round)
			}
		}
		if err := m.Collect(); err != nil {
			t.Fatal(err)
		}
		p.ClusterCount = 0
		want := make([]PlaceAction, len(taskNow))
		want = want[:PlaceTasks(&p, taskNow, devsNow, current, want)]
		got := slices.Clone(m.hostActions)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: %d decisions, a full evaluation makes %d", round, len(got), len(want))
		}
	}
	if pruned < 30 {
		t.Fatalf("only %d of 40 runs pruned", pruned)
	}
}

// placeWorld is an empty world with a mirror on the CPU backend (a tiny
// frame: these tests are about placement) and the maps to fill it.
func placeWorld(t *testing.T) (*ecs.World, *Mirror, *ecs.Map1[components.Device], *ecs.Map2[components.ComputeTask, components.Placement]) {
	t.Helper()
	w := ecs.NewWorld()
	m, err := Install(w, NewCPU(), MirrorConfig{FrameWidth: 4, FrameHeight: 4, Weights: DefaultMirrorConfig.Weights})
	if err != nil {
		t.Fatal(err)
	}
	return w, m, ecs.NewMap1[components.Device](w), ecs.NewMap2[components.ComputeTask, components.Placement](w)
}
