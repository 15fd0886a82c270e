package world_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// recorder is a system that notes when it ran.
type recorder struct {
	name    string
	log     *[]string
	initErr error
}

func (r *recorder) Describe() world.Description {
	return world.Description{Name: r.name, Purpose: "records", Reads: []string{"Clock"}}
}
func (r *recorder) Init(*world.World) error { return r.initErr }
func (r *recorder) Run(w *world.World) {
	*r.log = append(*r.log, r.name+"@"+string(rune('0'+w.Clock.Tick)))
}

func TestSchedulerRunsSystemsInOrderAndAdvancesTheClock(t *testing.T) {
	w := world.New(world.Config{Hz: 50}, nil)
	var log []string
	s, err := world.NewScheduler(w, &recorder{name: "a", log: &log}, &recorder{name: "b", log: &log})
	if err != nil {
		t.Fatal(err)
	}
	s.Tick(w)
	s.Tick(w)
	if got := strings.Join(log, " "); got != "a@1 b@1 a@2 b@2" {
		t.Errorf("ran %q", got)
	}
	if w.Clock.Tick != 2 || w.Clock.Dt != 20*time.Millisecond || w.Clock.SimNs != int64(40*time.Millisecond) {
		t.Errorf("clock %+v", *w.Clock)
	}
	if w.Stats.Ticks != 2 || len(w.Stats.Systems) != 2 || w.Stats.Systems[1].Name != "b" {
		t.Errorf("stats %+v", *w.Stats)
	}
	var out bytes.Buffer
	if err := s.Explain(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " 1. a — records") || !strings.Contains(out.String(), "writes: (nothing)") {
		t.Errorf("explain:\n%s", out.String())
	}
}

func TestSchedulerInitErrorNamesTheSystem(t *testing.T) {
	w := world.New(world.Config{}, nil)
	var log []string
	_, err := world.NewScheduler(w, &recorder{name: "broken", log: &log, initErr: errors.New("no filter")})
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "no filter") {
		t.Errorf("err = %v", err)
	}
}

func TestResolveRejectsDeadAndRecycledEntities(t *testing.T) {
	w := world.New(world.Config{}, nil)
	e := w.ECS.NewEntity()
	ref := world.Ref(e)
	if got, ok := w.Resolve(ref); !ok || got != e {
		t.Fatalf("Resolve(live) = %v, %v", got, ok)
	}
	w.ECS.RemoveEntity(e)
	recycled := w.ECS.NewEntity()
	if recycled.ID() != e.ID() {
		t.Fatalf("ark did not recycle the id; test needs updating")
	}
	if _, ok := w.Resolve(ref); ok {
		t.Error("Resolve accepted a ref to a dead entity whose id was recycled")
	}
	if _, ok := w.Resolve(components.EntityRef{}); ok {
		t.Error("Resolve accepted the zero ref")
	}
}

func TestSnapshotHasEveryEntityAndComponentSortedByID(t *testing.T) {
	w := world.New(world.Config{Seed: 3, Hz: 10, Scene: "test"}, nil)
	ecs.NewMap1[components.Device](w.ECS).NewEntity(&components.Device{Capacity: 5})
	ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS).NewEntity(&components.ComputeTask{Demand: 2}, &components.Placement{Device: 2})
	snap := w.Snapshot()
	if len(snap.Entities) != 2 || snap.Entities[0].ID >= snap.Entities[1].ID {
		t.Fatalf("entities %+v", snap.Entities)
	}
	if d, ok := snap.Entities[0].Components["Device"].(components.Device); !ok || d.Capacity != 5 {
		t.Errorf("device component %#v", snap.Entities[0].Components)
	}
	if p, ok := snap.Entities[1].Components["Placement"].(components.Placement); !ok || p.Device != 2 {
		t.Errorf("placement component %#v", snap.Entities[1].Components)
	}
	var a, b bytes.Buffer
	if err := w.WriteSnapshot(&a); err != nil {
		t.Fatal(err)
	}
	_ = w.WriteSnapshot(&b)
	if a.String() != b.String() || !strings.Contains(a.String(), `"seed": 3`) {
		t.Errorf("snapshot not stable or missing config:\n%s", a.String())
	}
}

func TestInboxStampsSeqAndTimeForTheNextTick(t *testing.T) {
	w := world.New(world.Config{Hz: 100}, nil)
	var fed []uint64
	w.Inbox.OnFeed = func(tick uint64, in components.Input) { fed = append(fed, tick, in.Seq) }
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputText, Text: "a"})
	w.Clock.Tick = 4
	in := w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputText, Text: "b"})
	if in.Seq != 2 || in.TimeNs != int64(50*time.Millisecond) {
		t.Errorf("stamped %+v", in)
	}
	if got := w.Inbox.Drain(); len(got) != 2 || got[0].Text != "a" {
		t.Errorf("drained %+v", got)
	}
	if w.Inbox.Len() != 0 {
		t.Error("inbox not empty after Drain")
	}
	if len(fed) != 4 || fed[0] != 1 || fed[2] != 5 {
		t.Errorf("OnFeed saw %v", fed)
	}
}
