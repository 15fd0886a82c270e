package world

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// Snapshot is every entity with every component, plus the simulation
// clock, in a form that serialises deterministically: entities sorted by
// ID, components keyed by type name (encoding/json sorts map keys).
type Snapshot struct {
	Config   Config           `json:"config"`
	Clock    Clock            `json:"clock"`
	Focus    components.Focus `json:"focus"`
	Entities []EntitySnapshot `json:"entities"`
}

// EntitySnapshot is one entity and its components by type name.
type EntitySnapshot struct {
	ID         uint32         `json:"id"`
	Gen        uint32         `json:"gen"`
	Components map[string]any `json:"components"`
}

// Snapshot captures the world. It copies component values, so the result
// stays valid while the world moves on. It allocates and is meant for
// tools, not for the tick.
func (w *World) Snapshot() Snapshot {
	snap := Snapshot{Config: *w.Config, Clock: *w.Clock, Focus: *w.Focus}
	var entities []ecs.Entity
	q := ecs.NewFilter0(w.ECS).Query()
	for q.Next() {
		entities = append(entities, q.Entity())
	}
	slices.SortFunc(entities, func(a, b ecs.Entity) int { return int(a.ID()) - int(b.ID()) })
	u := w.ECS.Unsafe()
	for _, e := range entities {
		es := EntitySnapshot{ID: e.ID(), Gen: e.Gen(), Components: map[string]any{}}
		ids := u.IDs(e)
		for i := 0; i < ids.Len(); i++ {
			id := ids.Get(i)
			info, _ := ecs.ComponentInfo(w.ECS, id)
			value := reflect.NewAt(info.Type, u.Get(e, id)).Elem()
			copied := reflect.New(info.Type).Elem()
			copied.Set(value)
			es.Components[info.Type.Name()] = copied.Interface()
		}
		snap.Entities = append(snap.Entities, es)
	}
	return snap
}

// WriteSnapshot writes the world's snapshot as indented JSON.
func (w *World) WriteSnapshot(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(w.Snapshot()); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}
