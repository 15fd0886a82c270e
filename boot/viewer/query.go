package viewer

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world"
)

// query is one question from a page, answered by the goroutine that owns
// the world (the tick's, or the snapshot's).
type query struct {
	c *client
	m *Inbound
}

// catalog answers queries about one world: live (on the tick goroutine)
// or a snapshot read from a file.
type catalog interface {
	entities(m *Inbound) (*EntitiesReply, error)
	entity(r Ref) (*EntityReply, error)
	task(r Ref) (*TaskReply, error)
}

// errNotFound marks answers about entities that do not exist (any more).
var errNotFound = errors.New("not found")

// Wake delivers a signal whenever the runtime's loop has something to do
// for the viewer: queries to answer (Serve), requests to feed
// (Requests), a change of pace (Gate).
func (s *Server) Wake() <-chan struct{} { return s.wake }

// Requests delivers the page's actions as control requests, for the
// runtime to feed into the world like the control socket's.
func (s *Server) Requests() <-chan guests.ControlRequest { return s.requests }

func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Serve answers up to a few waiting queries about w, and publishes at
// once when asked to (on the goroutine that ticks it, between ticks or
// after one); when more queries wait, it wakes the loop again.
func (s *Server) Serve(w *world.World) {
	t := s.side
	if t == nil {
		s.refuseQueries()
		return
	}
	s.answer(t.cat)
	// A change of pace wants a publication now, not at the next tick (a
	// paused world has none); a publication the hub could not take
	// before goes now.
	t.publish(time.Now(), s.hub.forceState.Swap(false))
}

// answer takes up to queriesPerServe queries off the queue.
func (s *Server) answer(cat catalog) {
	for range queriesPerServe {
		select {
		case q := <-s.queries:
			respond(q, cat)
		default:
			return
		}
	}
	if len(s.queries) > 0 {
		s.poke()
	}
}

// refuseQueries answers every waiting query: no world to ask.
func (s *Server) refuseQueries() {
	for {
		select {
		case q := <-s.queries:
			q.c.refuse(q.m.ID, CodeUnavailable, errors.New("no world to query: the run has ended"))
		default:
			return
		}
	}
}

func respond(q *query, cat catalog) {
	var data any
	var err error
	switch q.m.Q {
	case QueryEntities:
		data, err = cat.entities(q.m)
	case QueryEntity:
		data, err = cat.entity(*q.m.Entity)
	case QueryTask:
		data, err = cat.task(*q.m.Entity)
	}
	switch {
	case errors.Is(err, errNotFound):
		q.c.refuse(q.m.ID, CodeNotFound, err)
	case err != nil:
		q.c.refuse(q.m.ID, CodeBadMessage, err)
	default:
		q.c.enqueue(mustJSON(Reply{T: OutReply, ID: q.m.ID, Q: q.m.Q, Data: data}))
	}
}

// wholeFrame cuts a frame into an update of every tile.
func wholeFrame(texels []uint32, width, height int) *gpu.FrameUpdate {
	u := &gpu.FrameUpdate{Width: width, Height: height}
	u.TilesX, u.TilesY = gpu.TilesFor(width, height)
	u.Pixels = make([]uint32, u.TilesX*u.TilesY*tilePixels)
	for ty := range u.TilesY {
		for tx := range u.TilesX {
			t := ty*u.TilesX + tx
			u.Tiles = append(u.Tiles, uint32(t))
			for y := range tileSize {
				py := ty*tileSize + y
				if py >= height {
					break
				}
				x0, x1 := tx*tileSize, min(tx*tileSize+tileSize, width)
				copy(u.Pixels[t*tilePixels+y*tileSize:], texels[py*width+x0:py*width+x1])
			}
		}
	}
	return u
}

// liveCatalog answers queries from the world itself, on the tick
// goroutine, each within a fixed budget.
type liveCatalog struct {
	t     *tickSide
	ids   map[string]ecs.ID
	types map[ecs.ID]reflect.Type
}

func newLiveCatalog(t *tickSide) *liveCatalog {
	return &liveCatalog{t: t, ids: map[string]ecs.ID{}, types: map[ecs.ID]reflect.Type{}}
}

// kindID finds a component kind by its type name, learning new ones.
func (c *liveCatalog) kindID(name string) (ecs.ID, bool) {
	if id, ok := c.ids[name]; ok {
		return id, true
	}
	for _, id := range ecs.ComponentIDs(c.t.w.ECS) {
		if info, ok := ecs.ComponentInfo(c.t.w.ECS, id); ok {
			c.ids[info.Type.Name()], c.types[id] = id, info.Type
		}
	}
	id, ok := c.ids[name]
	return id, ok
}

func (c *liveCatalog) typeOf(id ecs.ID) reflect.Type {
	if tp, ok := c.types[id]; ok {
		return tp
	}
	info, _ := ecs.ComponentInfo(c.t.w.ECS, id)
	c.types[id] = info.Type
	c.ids[info.Type.Name()] = id
	return info.Type
}

// kindsOf names an entity's components, sorted.
func (c *liveCatalog) kindsOf(e ecs.Entity) []string {
	ids := c.t.w.ECS.Unsafe().IDs(e)
	kinds := make([]string, 0, ids.Len())
	for i := range ids.Len() {
		kinds = append(kinds, c.typeOf(ids.Get(i)).Name())
	}
	slices.Sort(kinds)
	return kinds
}

// value returns a pointer to e's component of a kind, as *T in an any.
func (c *liveCatalog) value(e ecs.Entity, kind string) any {
	id, ok := c.kindID(kind)
	if !ok || !c.t.w.ECS.Unsafe().Has(e, id) {
		return nil
	}
	return reflect.NewAt(c.typeOf(id), c.t.w.ECS.Unsafe().Get(e, id)).Interface()
}

func (c *liveCatalog) row(e ecs.Entity) EntityRow {
	kinds := c.kindsOf(e)
	return EntityRow{Entity: ref(e), Kinds: kinds, Label: label(kinds, func(k string) any { return c.value(e, k) })}
}

// entities answers a page of the browser. Without a search it reads the
// page's rows only; a search examines at most SearchBudget entities (by
// id: IDSearchBudget) from Offset and says where to go on.
func (c *liveCatalog) entities(m *Inbound) (*EntitiesReply, error) {
	var ids []ecs.ID
	if m.Kind != "" {
		id, ok := c.kindID(m.Kind)
		if !ok {
			return nil, fmt.Errorf("%w: no component kind %q in this world (the summary lists them)", errNotFound, m.Kind)
		}
		ids = append(ids, id)
	}
	limit := m.Limit
	if limit == 0 {
		limit = 50
	}
	r := &EntitiesReply{Kind: m.Kind, Search: m.Search, Offset: m.Offset, Rows: []EntityRow{}}
	q := ecs.NewUnsafeFilter(c.t.w.ECS, ids...).Query()
	r.Total = q.Count()
	search := strings.ToLower(strings.TrimSpace(m.Search))
	var found []ecs.Entity
	i := m.Offset
	switch {
	case search == "":
		for ; i < r.Total && len(found) < limit; i++ {
			found = append(found, q.EntityAt(i))
		}
		q.Close()
		r.Scanned = len(found)
		for _, e := range found {
			r.Rows = append(r.Rows, c.row(e))
		}
	default:
		id, byID := idSearch(search)
		budget := SearchBudget
		if byID {
			budget = IDSearchBudget
		}
		// Skipping to Offset costs a step per entity, examining one far
		// more: the budget counts the examined.
		var examined []ecs.Entity
		for n := 0; q.Next(); n++ {
			if n < m.Offset {
				continue
			}
			if len(examined) >= budget {
				q.Close()
				break
			}
			e := q.Entity()
			if byID && e.ID() != id {
				examined = append(examined, ecs.Entity{})
				continue
			}
			examined = append(examined, e)
		}
		for _, e := range examined {
			i++
			r.Scanned++
			if e.IsZero() {
				continue
			}
			row := c.row(e)
			if byID || matches(row, search) {
				r.Rows = append(r.Rows, row)
				if len(r.Rows) >= limit {
					break
				}
			}
		}
	}
	r.Next = i
	r.More = i < r.Total
	return r, nil
}

// idSearch reads "#123" or "123" as a search by entity id.
func idSearch(s string) (uint32, bool) {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 32)
	return uint32(n), err == nil
}

// matches is a case-insensitive search in a row's kinds and label.
func matches(r EntityRow, search string) bool {
	if strings.Contains(strings.ToLower(r.Label), search) {
		return true
	}
	for _, k := range r.Kinds {
		if strings.Contains(strings.ToLower(k), search) {
			return true
		}
	}
	return false
}

// entity answers one entity's component values (copies).
func (c *liveCatalog) entity(r Ref) (*EntityReply, error) {
	e, ok := c.t.resolve(r)
	if !ok {
		return nil, fmt.Errorf("%w: entity %d (generation %d) is gone", errNotFound, r.ID, r.Gen)
	}
	reply := &EntityReply{Entity: r, Kinds: c.kindsOf(e), Components: map[string]any{}}
	for _, k := range reply.Kinds {
		v := reflect.ValueOf(c.value(e, k)).Elem()
		cp := reflect.New(v.Type()).Elem()
		cp.Set(v)
		reply.Components[k] = cp.Interface()
	}
	return reply, nil
}

// arkReserved is how many entity ids ark keeps for itself (0, the zero
// entity, and 1, the wildcard): no reference a page sends may name them.
const arkReserved = 2

// resolve is world.Resolve for a reference that comes from a page. ark
// reads an entity's generation without checking that its id lies in the
// entity pool, so an id beyond the pool must never reach it: it would
// read outside the pool's memory.
func (t *tickSide) resolve(r Ref) (ecs.Entity, bool) {
	if r.ID < arkReserved || int(r.ID) >= t.w.ECS.Stats().Entities.Total+arkReserved {
		return ecs.Entity{}, false
	}
	return t.w.Resolve(components.EntityRef{ID: r.ID, Gen: r.Gen})
}

// task explains a task's placement against every device now.
func (c *liveCatalog) task(r Ref) (*TaskReply, error) {
	t := c.t
	e, ok := t.resolve(r)
	if !ok || !t.taskMap.HasAll(e) {
		return nil, fmt.Errorf("%w: entity %d (generation %d) is not a placed compute task (any more)", errNotFound, r.ID, r.Gen)
	}
	task, pl := t.taskMap.Get(e)
	var devices []DeviceInfo
	q := t.devices.Query()
	for q.Next() {
		devices = append(devices, deviceInfo(ref(q.Entity()), q.Get()))
	}
	weights := gpu.DefaultMirrorConfig.Weights
	if t.m != nil {
		weights = t.m.Config().Weights
	}
	reply := explainTask(r, *task, *pl, devices, weights)
	if t.taskNames.HasAll(e) {
		reply.Name = t.taskNames.Get(e).Text
	}
	if t.moves.HasAll(e) {
		m := *t.moves.Get(e)
		reply.Migration = &m
	}
	return reply, nil
}

// explainTask computes what staying costs and the runner-up, from the
// devices as they are (gpu.Explain).
func explainTask(r Ref, task components.ComputeTask, pl components.Placement, devices []DeviceInfo, weights gpu.Weights) *TaskReply {
	views := make([]gpu.DeviceView, len(devices))
	for i, d := range devices {
		views[i] = gpu.DeviceView{ID: d.Entity.ID, Device: components.Device{Position: d.Pos, Capacity: d.Capacity, Load: d.Load,
			Temperature: d.Temperature, EnergyCost: d.EnergyCost, Kind: d.Kind, Slot: d.Slot}}
	}
	ex := gpu.Explain(weights, task, pl, views)
	reply := &TaskReply{Entity: r, Task: task, Placement: pl, Weights: weights, Stay: ex.Stay, Evaluated: ex.Evaluated, Fits: ex.Fits}
	for i := range views {
		if ex.Device == &views[i] {
			reply.Device = &devices[i]
		}
		if ex.RunnerUp == &views[i] {
			reply.RunnerUp = &Choice{Device: devices[i], Terms: *ex.RunnerUpTerms}
		}
	}
	return reply
}
