package gpu_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"pgregory.net/rapid"
)

// Any sequence of creates, removals and marked changes leaves the column
// dense, every slot holding its entity's current value, and an unchanged
// world uploading nothing.
func TestColumnFollowsTheWorld(t *testing.T) {
	vk := backends(t)[1]
	rapid.Check(t, func(rt *rapid.T) {
		backend := rapid.SampledFrom([]gpu.Backend{gpu.NewCPU(), vk, unmapped{gpu.NewCPU()}}).Draw(rt, "backend")
		w := ecs.NewWorld()
		devices := ecs.NewMap1[components.Device](w)
		var live []ecs.Entity
		for i := range rapid.IntRange(0, 100).Draw(rt, "initial") {
			live = append(live, devices.NewEntity(&components.Device{Capacity: float32(i)}))
		}
		col, err := gpu.NewColumn[components.Device](w, backend, rapid.IntRange(0, 80).Draw(rt, "capacity"))
		if err != nil {
			rt.Fatal(err)
		}
		other := ecs.NewMap1[components.Surface](w) // entities without the component
		for step := range rapid.IntRange(1, 30).Draw(rt, "steps") {
			for range rapid.IntRange(0, 40).Draw(rt, "creates") {
				live = append(live, devices.NewEntity(&components.Device{Capacity: float32(1000 + step)}))
				other.NewEntity(&components.Surface{})
			}
			for range rapid.IntRange(0, min(len(live), 30)).Draw(rt, "removes") {
				i := rapid.IntRange(0, len(live)-1).Draw(rt, "victim")
				w.RemoveEntity(live[i])
				live = append(live[:i], live[i+1:]...)
			}
			for range rapid.IntRange(0, len(live)).Draw(rt, "changes") {
				e := live[rapid.IntRange(0, len(live)-1).Draw(rt, "changed")]
				devices.Get(e).Load += 1
				col.Mark(e)
			}
			if _, err := col.Sync(); err != nil {
				rt.Fatal(err)
			}
			if col.Len() != len(live) {
				rt.Fatalf("column has %d slots, world has %d entities", col.Len(), len(live))
			}
			if err := col.Verify(); err != nil {
				rt.Fatal(err)
			}
			if _, err := col.Sync(); err != nil {
				rt.Fatal(err)
			}
			if s := col.Stats(); s.LastBytes != 0 {
				rt.Fatalf("an unchanged world uploaded %d bytes", s.LastBytes)
			}
		}
	})
}

func TestColumnGenerationsCatchStaleSlots(t *testing.T) {
	w := ecs.NewWorld()
	rays := ecs.NewMap1[components.AttentionRay](w)
	a := rays.NewEntity(&components.AttentionRay{Weight: 1})
	b := rays.NewEntity(&components.AttentionRay{Weight: 2})
	col, err := gpu.NewColumn[components.AttentionRay](w, gpu.NewCPU(), 0)
	if err != nil {
		t.Fatal(err)
	}
	slotB, _, ok := col.Slot(b)
	if !ok || slotB != 1 {
		t.Fatalf("b in slot %d", slotB)
	}
	gens := col.CopyGens(nil)
	w.RemoveEntity(a) // b moves into slot 0
	if s, g, ok := col.Slot(b); !ok || s != 0 || g == gens[0] {
		t.Errorf("after compaction b is in slot %d gen %d (old gen of slot 0: %d)", s, g, gens[0])
	}
	if col.Gen(0) == gens[0] {
		t.Error("slot 0 changed hands without a new generation: a result for a would be read as b's")
	}
	if _, _, ok := col.Slot(a); ok {
		t.Error("removed entity still has a slot")
	}
	c := w.NewEntity() // recycles a's id, without the component
	if _, _, ok := col.Slot(c); ok {
		t.Error("an entity without the component has a slot")
	}
}

// unmapped hides a backend's Mapper, so the column takes its Write path.
type unmapped struct{ gpu.Backend }

func TestColumnUploadsOnlyDirtySlots(t *testing.T) {
	cases := []struct {
		name          string
		backend       gpu.Backend
		bytes, writes int
	}{
		// Mapped: each dirty slot is written in place.
		{"mapped", gpu.NewCPU(), 3 * 32, 3},
		// Write path: slots 10 and 12 merge across the clean slot 11.
		{"write", unmapped{gpu.NewCPU()}, 4 * 32, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := ecs.NewWorld()
			tasks := ecs.NewMap1[components.ComputeTask](w)
			var es []ecs.Entity
			for range 1000 {
				es = append(es, tasks.NewEntity(&components.ComputeTask{Demand: 1}))
			}
			col, err := gpu.NewColumn[components.ComputeTask](w, c.backend, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := col.Sync(); err != nil {
				t.Fatal(err)
			}
			if got := col.Stats().LastBytes; got != 1000*32 {
				t.Fatalf("first sync uploaded %d bytes, want all %d", got, 1000*32)
			}
			for _, i := range []int{10, 12, 500} {
				tasks.Get(es[i]).Demand = 2
				col.Mark(es[i])
			}
			if _, err := col.Sync(); err != nil {
				t.Fatal(err)
			}
			if s := col.Stats(); s.LastWrites != c.writes || s.LastBytes != c.bytes {
				t.Errorf("uploaded %d bytes in %d writes, want %d in %d", s.LastBytes, s.LastWrites, c.bytes, c.writes)
			}
			if err := col.Verify(); err != nil {
				t.Error(err)
			}
			if got := c.backend.Stats().BytesUploaded; got != uint64(1000*32+c.bytes) {
				t.Errorf("backend counted %d bytes uploaded, want %d", got, 1000*32+c.bytes)
			}
		})
	}
}
