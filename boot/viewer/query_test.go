package viewer_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// ask sends a query and returns its reply's data decoded into v. The
// world does not tick meanwhile: the test's goroutine answers the query
// (Serve, as the runtime's loop does between ticks) while another reads
// the reply, so the answer is about the world as the test sees it.
func ask(t *testing.T, h *harness, c *client, q viewer.Inbound, v any) {
	t.Helper()
	q.T = viewer.InQuery
	c.send(q)
	type result struct {
		data jsonRaw
		err  string
	}
	done := make(chan result, 1)
	go func() {
		for {
			m, err := c.next()
			if err != nil {
				done <- result{err: err.Error()}
				return
			}
			var r struct {
				ID    uint32
				Data  jsonRaw
				Code  string
				Error string
			}
			if m.T != viewer.OutReply && m.T != viewer.OutError {
				continue
			}
			if json.Unmarshal(m.Raw, &r) != nil || r.ID != q.ID {
				continue
			}
			if m.T == viewer.OutError {
				done <- result{err: r.Code + ": " + r.Error}
				return
			}
			done <- result{data: r.Data}
			return
		}
	}()
	for {
		select {
		case r := <-done:
			if r.err != "" {
				t.Fatalf("query %+v: %s", q, r.err)
			}
			msg{Raw: []byte(r.data)}.decode(t, v)
			return
		case <-time.After(time.Millisecond):
			h.srv.Serve(h.w)
		}
	}
}

// The summary counts every entity of the world, kind by kind, and the
// browser pages through them, searches them and shows their components.
func TestEntityBrowser(t *testing.T) {
	// A state every tick: the one of the last tick describes the world
	// the test then inspects.
	h := newHarness(t, "stress", viewer.Config{StateInterval: time.Nanosecond})
	c := dial(t, h.srv, "")
	h.tick()
	h.tick()
	st := c.awaitState("a state", func(st *viewer.State) bool { return st.Tick == h.w.Clock.Tick })
	if want := h.w.ECS.Stats().Entities.Used; st.Entities != want {
		t.Errorf("state says %d entities, the world has %d", st.Entities, want)
	}
	for _, k := range st.Kinds {
		id, ok := kindID(h, k.Name)
		if !ok {
			t.Fatalf("kind %s unknown to the world", k.Name)
		}
		q := ecs.NewUnsafeFilter(h.w.ECS, id).Query()
		if n := q.Count(); n != k.Count {
			t.Errorf("%s: state says %d, the world has %d", k.Name, k.Count, n)
		}
		q.Close()
	}

	// Pages of tasks: 100 at a time, and where to continue.
	var page viewer.EntitiesReply
	ask(t, h, c, viewer.Inbound{ID: 1, Q: viewer.QueryEntities, Kind: "ComputeTask", Limit: 100}, &page)
	if page.Total < 100_000 || len(page.Rows) != 100 || page.Next != 100 || !page.More {
		t.Fatalf("first page: total %d, %d rows, next %d, more %t", page.Total, len(page.Rows), page.Next, page.More)
	}
	row := page.Rows[3]
	if !strings.HasPrefix(row.Label, "task demand ") || !contains(row.Kinds, "ComputeTask") || !contains(row.Kinds, "Placement") {
		t.Errorf("row %+v", row)
	}
	var next viewer.EntitiesReply
	ask(t, h, c, viewer.Inbound{ID: 2, Q: viewer.QueryEntities, Kind: "ComputeTask", Offset: page.Next, Limit: 100}, &next)
	if next.Offset != 100 || len(next.Rows) != 100 || next.Rows[0].Entity == page.Rows[99].Entity {
		t.Errorf("second page starts at %d with %+v", next.Offset, next.Rows[0].Entity)
	}

	// A search by id finds the one entity, within the id search budget.
	ask(t, h, c, viewer.Inbound{ID: 3, Q: viewer.QueryEntities, Search: fmt.Sprintf("#%d", row.Entity.ID), Limit: 10}, &page)
	for page.More && len(page.Rows) == 0 {
		if page.Scanned > viewer.IDSearchBudget {
			t.Fatalf("one request examined %d entities, budget %d", page.Scanned, viewer.IDSearchBudget)
		}
		ask(t, h, c, viewer.Inbound{ID: 4, Q: viewer.QueryEntities, Search: fmt.Sprintf("#%d", row.Entity.ID), Offset: page.Next, Limit: 10}, &page)
	}
	if len(page.Rows) != 1 || page.Rows[0].Entity != row.Entity {
		t.Fatalf("search #%d found %+v", row.Entity.ID, page.Rows)
	}
	// A text search examines at most SearchBudget entities per request.
	ask(t, h, c, viewer.Inbound{ID: 5, Q: viewer.QueryEntities, Search: "no such text", Limit: 10}, &page)
	if page.Scanned != viewer.SearchBudget || len(page.Rows) != 0 || page.Next != viewer.SearchBudget || !page.More {
		t.Errorf("text search: scanned %d, %d rows, next %d, more %t", page.Scanned, len(page.Rows), page.Next, page.More)
	}
	ask(t, h, c, viewer.Inbound{ID: 6, Q: viewer.QueryEntities, Kind: "Guest", Search: "LINUX"}, &page)
	if len(page.Rows) != 1 || !strings.HasPrefix(page.Rows[0].Label, "guest linux ") {
		t.Errorf("search LINUX among guests: %+v", page.Rows)
	}

	// One entity's components, as the world holds them.
	var detail struct {
		Entity     viewer.Ref
		Kinds      []string
		Components struct {
			Guest components.Guest
		}
	}
	ask(t, h, c, viewer.Inbound{ID: 7, Q: viewer.QueryEntity, Entity: &page.Rows[0].Entity}, &detail)
	e, _ := h.w.Resolve(components.EntityRef{ID: detail.Entity.ID, Gen: detail.Entity.Gen})
	if g := ecs.NewMap1[components.Guest](h.w.ECS).Get(e); detail.Components.Guest != *g {
		t.Errorf("guest component %+v, world %+v", detail.Components.Guest, *g)
	}
}

// A task's placement is explained with gpu.PlacementTerms: what staying
// costs now, and the cheapest other device where it fits.
func TestTaskExplanationMatchesThePlacementTerms(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	c := dial(t, h.srv, "")
	for range 10 {
		h.tick()
	}
	var task ecs.Entity
	q := ecs.NewFilter2[components.ComputeTask, components.Placement](h.w.ECS).Query()
	for q.Next() {
		if _, p := q.Get(); p.Device != 0 {
			task = q.Entity()
			q.Close()
			break
		}
	}
	if task.IsZero() {
		t.Fatal("no placed task after 10 ticks")
	}
	var r viewer.TaskReply
	ask(t, h, c, viewer.Inbound{ID: 1, Q: viewer.QueryTask, Entity: &viewer.Ref{ID: task.ID(), Gen: task.Gen()}}, &r)
	ct, pl := ecs.NewMap2[components.ComputeTask, components.Placement](h.w.ECS).Get(task)
	if r.Task != *ct || r.Placement != *pl || r.Device == nil || r.Device.Entity.ID != pl.Device || r.Evaluated != 4 {
		t.Fatalf("reply %+v for task %+v %+v", r, *ct, *pl)
	}
	// Recompute what the reply claims, device by device.
	weights := h.mirror.Config().Weights
	best, bestCost := uint32(0), float32(0)
	dq := ecs.NewFilter1[components.Device](h.w.ECS).Query()
	for dq.Next() {
		d := *dq.Get()
		load := d.Load
		if dq.Entity().ID() == pl.Device {
			load -= ct.Demand
		}
		terms, fits := gpu.PlacementTerms(weights, ct, &d, load)
		switch {
		case !fits:
		case dq.Entity().ID() == pl.Device:
			if r.Stay == nil || r.Stay.Cost != terms.Cost || r.Stay.Locality != terms.Locality {
				t.Errorf("stay %+v, want %+v", r.Stay, terms)
			}
		case best == 0 || terms.Cost < bestCost:
			best, bestCost = dq.Entity().ID(), terms.Cost
		}
	}
	switch {
	case best == 0 && r.RunnerUp != nil:
		t.Errorf("runner-up %+v where no other device fits", r.RunnerUp)
	case best != 0 && (r.RunnerUp == nil || r.RunnerUp.Device.Entity.ID != best || r.RunnerUp.Terms.Cost != bestCost):
		t.Errorf("runner-up %+v, want device %d at cost %v", r.RunnerUp, best, bestCost)
	}
}

// The placement map lists every device and a bounded sample of tasks.
func TestPlacementMap(t *testing.T) {
	h := newHarness(t, "stress", viewer.Config{})
	c := dial(t, h.srv, "")
	h.tick()
	var pl viewer.Placement
	c.await("the placement map", func(m msg) bool { return m.T == viewer.OutPlacement }).decode(t, &pl)
	if len(pl.Devices) != 64 || len(pl.Tasks) != viewer.TaskSample || pl.TaskCount < 100_000 {
		t.Errorf("%d devices, %d tasks of %d", len(pl.Devices), len(pl.Tasks), pl.TaskCount)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kindID finds a component kind of the world by name.
func kindID(h *harness, name string) (ecs.ID, bool) {
	for _, id := range ecs.ComponentIDs(h.w.ECS) {
		if info, ok := ecs.ComponentInfo(h.w.ECS, id); ok && info.Type.Name() == name {
			return id, true
		}
	}
	return ecs.ID{}, false
}

// jsonRaw keeps a reply's data for decoding into its own type.
type jsonRaw []byte

func (j *jsonRaw) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}
