package viewer

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Snapshot is a world snapshot as `rayos boot --snapshot` writes it
// (world.Snapshot), with each component kept as its JSON until a query
// needs it.
type Snapshot struct {
	Config   world.Config     `json:"config"`
	Clock    world.Clock      `json:"clock"`
	Focus    components.Focus `json:"focus"`
	Entities []SnapshotEntity `json:"entities"`
	byKind   map[string][]int // entity indexes per component kind
	byID     map[uint32]int   // entity index per id
	types    map[string]reflect.Type
}

// SnapshotEntity is one entity of a Snapshot.
type SnapshotEntity struct {
	ID         uint32                     `json:"id"`
	Gen        uint32                     `json:"gen"`
	Components map[string]json.RawMessage `json:"components"`
}

// snapshotTypes are the component kinds a snapshot's values are read as,
// for labels, the summary and the placement map; any other kind is shown
// as its JSON.
var snapshotTypes = []any{
	components.Guest{}, components.Surface{}, components.Device{}, components.ComputeTask{}, components.Placement{},
	components.AttentionRay{}, components.IntentEnvelope{}, components.PendingConfirmation{}, components.Input{},
	components.TaskName{}, components.Migration{}, components.FabricNode{},
}

// ReadSnapshot reads a snapshot; name is used in errors.
func ReadSnapshot(r io.Reader, name string) (*Snapshot, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: not a RayOS world snapshot (rayos boot --snapshot writes one): %v", name, err)
	}
	if s.Config.Scene == "" || s.Config.Hz <= 0 {
		return nil, fmt.Errorf("%s: not a RayOS world snapshot: no config (scene, hz)", name)
	}
	s.index()
	return &s, nil
}

func (s *Snapshot) index() {
	s.byKind, s.byID, s.types = map[string][]int{}, map[uint32]int{}, map[string]reflect.Type{}
	for _, v := range snapshotTypes {
		t := reflect.TypeOf(v)
		s.types[t.Name()] = t
	}
	slices.SortFunc(s.Entities, func(a, b SnapshotEntity) int { return cmp.Compare(a.ID, b.ID) })
	for i, e := range s.Entities {
		s.byID[e.ID] = i
		for k := range e.Components {
			s.byKind[k] = append(s.byKind[k], i)
		}
	}
}

// value decodes an entity's component of a kind as *T (nil when it has
// none, or the kind is not one the viewer reads).
func (s *Snapshot) value(i int, kind string) any {
	raw, ok := s.Entities[i].Components[kind]
	t, known := s.types[kind]
	if !ok || !known {
		return nil
	}
	v := reflect.New(t)
	if json.Unmarshal(raw, v.Interface()) != nil {
		return nil
	}
	return v.Interface()
}

func snapGet[T any](s *Snapshot, i int, kind string) (*T, bool) {
	v, ok := s.value(i, kind).(*T)
	return v, ok
}

func (s *Snapshot) kindsOf(i int) []string {
	kinds := make([]string, 0, len(s.Entities[i].Components))
	for k := range s.Entities[i].Components {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

func (s *Snapshot) row(i int) EntityRow {
	e := &s.Entities[i]
	kinds := s.kindsOf(i)
	return EntityRow{Entity: Ref{e.ID, e.Gen}, Kinds: kinds, Label: label(kinds, func(k string) any { return s.value(i, k) })}
}

// ServeSnapshot serves snap until the server closes: its summary,
// placement map and frame (composed from its surfaces on the CPU
// backend: guests' displays are not part of a snapshot) are published
// once, and queries are answered from it.
func (s *Server) ServeSnapshot(snap *Snapshot) error {
	p := <-s.hub.free
	p.reset = true
	snap.fillState(&p.state)
	p.state.Mode = s.mode
	p.hasState = true
	snap.fillPlacement(&p.place)
	p.hasPlace = true
	fb := <-s.hub.ffree
	if err := snap.compose(fb); err != nil {
		s.hub.ffree <- fb
		return err
	}
	p.frame = fb
	s.hub.in <- p
	s.attached.Store(true)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.closed:
				return
			case <-s.wake:
				s.answer(snap)
			}
		}
	}()
	return nil
}

// compose composes the snapshot's surfaces into fb.
func (snap *Snapshot) compose(fb *frameBuf) error {
	w := ecs.NewWorld()
	surfaces := ecs.NewMap1[components.Surface](w)
	for _, i := range snap.byKind["Surface"] {
		if sf, ok := snapGet[components.Surface](snap, i, "Surface"); ok {
			surfaces.NewEntity(sf)
		}
	}
	backend := gpu.NewCPU()
	defer backend.Close()
	m, err := gpu.Install(w, backend, gpu.DefaultMirrorConfig)
	if err != nil {
		return fmt.Errorf("composing the snapshot's frame: %w", err)
	}
	m.SetFrameTap(true)
	if err := errors.Join(m.Submit(), m.Collect()); err != nil {
		return fmt.Errorf("composing the snapshot's frame: %w", err)
	}
	u, ok := m.FrameUpdate()
	if !ok {
		cfg := m.Config()
		texels := make([]uint32, cfg.FrameWidth*cfg.FrameHeight)
		if err := m.ReadFrame(texels); err != nil {
			return fmt.Errorf("composing the snapshot's frame: %w", err)
		}
		u = wholeFrame(texels, cfg.FrameWidth, cfg.FrameHeight)
	}
	fb.add(u)
	return nil
}

func (snap *Snapshot) fillState(st *State) {
	st.T, st.Tick, st.SimNs = OutState, snap.Clock.Tick, snap.Clock.SimNs
	st.Hz, st.Scene, st.Seed, st.Ended, st.Paused = snap.Config.Hz, snap.Config.Scene, snap.Config.Seed, true, true
	st.Entities = len(snap.Entities)
	st.Policy = "not in a snapshot"
	for k, list := range snap.byKind {
		st.Kinds = append(st.Kinds, KindCount{Name: k, Count: len(list)})
	}
	slices.SortFunc(st.Kinds, func(a, b KindCount) int { return cmp.Compare(a.Name, b.Name) })
	owners := map[uint32]string{}
	for _, i := range snap.byKind["Guest"] {
		g, ok := snapGet[components.Guest](snap, i, "Guest")
		if !ok {
			continue
		}
		owners[g.Number] = g.ID
		e := snap.Entities[i]
		st.Guests = append(st.Guests, GuestInfo{Entity: Ref{e.ID, e.Gen}, ID: g.ID, OS: osName(g.OS), State: stateName(g.State), Presented: g.Presented, Ready: g.Ready})
	}
	for _, i := range snap.byKind["PendingConfirmation"] {
		pc, ok := snapGet[components.PendingConfirmation](snap, i, "PendingConfirmation")
		if !ok {
			continue
		}
		pi := PendingInfo{Rule: pc.Rule, Expires: pc.Expires}
		if j, ok := snap.byID[pc.Envelope.ID]; ok {
			if env, ok := snapGet[components.IntentEnvelope](snap, j, "IntentEnvelope"); ok {
				pi.Source, pi.Client, pi.Action = env.Source, env.Client, actionName(env.Action)
				if k, ok := snap.byID[env.Target.ID]; ok {
					if g, ok := snapGet[components.Guest](snap, k, "Guest"); ok {
						pi.Guest = g.ID
					}
				}
			}
		}
		st.Pending = append(st.Pending, pi)
	}
	cfg := gpu.DefaultMirrorConfig
	st.Frame = FrameInfo{Width: cfg.FrameWidth, Height: cfg.FrameHeight}
	st.Focus = FocusInfo{Surface: Ref{snap.Focus.Surface.ID, snap.Focus.Surface.Gen}, Owner: snap.Focus.Owner, Weight: snap.Focus.Weight, Since: snap.Focus.Since}
	for _, i := range snap.byKind["Surface"] {
		sf, ok := snapGet[components.Surface](snap, i, "Surface")
		if !ok || len(st.Surfaces) >= MaxSurfaces {
			continue
		}
		e := snap.Entities[i]
		si := SurfaceInfo{Entity: Ref{e.ID, e.Gen}, X: sf.Rect.X, Y: sf.Rect.Y, W: sf.Rect.W, H: sf.Rect.H, Owner: sf.Owner, Layer: sf.Layer, Flags: sf.Flags, Z: sf.Z}
		if sf.Owner != components.OwnerRayOS {
			si.Guest = owners[sf.Owner]
		}
		si.Focused = si.Entity == st.Focus.Surface && si.Entity.ID != 0
		st.Surfaces = append(st.Surfaces, si)
	}
	slices.SortStableFunc(st.Surfaces, func(a, b SurfaceInfo) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Z, b.Z))
	})
	// Rays: a snapshot has no GPU results, but each ray keeps the surface
	// it hit (AttentionRay.Hit, an entity id) and the distance.
	type hit struct {
		i int
		r *components.AttentionRay
	}
	var hits []hit
	for _, i := range snap.byKind["AttentionRay"] {
		st.RayCount++
		if r, ok := snapGet[components.AttentionRay](snap, i, "AttentionRay"); ok && r.Weight > 0 && r.Hit != 0 {
			hits = append(hits, hit{i, r})
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(b.r.Weight, a.r.Weight) })
	for _, h := range hits[:min(len(hits), MaxRays)] {
		j, ok := snap.byID[h.r.Hit]
		if !ok {
			continue
		}
		sf, ok := snapGet[components.Surface](snap, j, "Surface")
		if !ok {
			continue
		}
		if x, y, in := hitPoint(h.r, h.r.HitT, sf); in {
			e, se := snap.Entities[h.i], snap.Entities[j]
			st.Rays = append(st.Rays, RayInfo{Entity: Ref{e.ID, e.Gen}, X: x, Y: y, Weight: h.r.Weight, Surface: Ref{se.ID, se.Gen}})
		}
	}
}

func (snap *Snapshot) devices() []DeviceInfo {
	var out []DeviceInfo
	for _, i := range snap.byKind["Device"] {
		if d, ok := snapGet[components.Device](snap, i, "Device"); ok && len(out) < MaxDevices {
			e := snap.Entities[i]
			out = append(out, deviceInfo(Ref{e.ID, e.Gen}, d))
		}
	}
	return out
}

func (snap *Snapshot) fillPlacement(pl *Placement) {
	pl.T, pl.Tick = OutPlacement, snap.Clock.Tick
	pl.Devices = snap.devices()
	tasks := snap.byKind["ComputeTask"]
	pl.TaskCount = len(tasks)
	k := min(len(tasks), TaskSample)
	for n := range k {
		i := tasks[n*len(tasks)/k]
		t, ok := snapGet[components.ComputeTask](snap, i, "ComputeTask")
		if !ok {
			continue
		}
		e := snap.Entities[i]
		ti := TaskInfo{Entity: Ref{e.ID, e.Gen}, Pos: t.Affinity, Demand: t.Demand}
		if p, ok := snapGet[components.Placement](snap, i, "Placement"); ok {
			ti.Device, ti.Cost = p.Device, p.Cost
		}
		pl.Tasks = append(pl.Tasks, ti)
	}
}

// entities is the browser's page over the snapshot, entities in id order.
func (snap *Snapshot) entities(m *Inbound) (*EntitiesReply, error) {
	all := snap.byKind[m.Kind]
	if m.Kind == "" {
		all = nil
	} else if all == nil {
		return nil, fmt.Errorf("%w: no component kind %q in this snapshot (the summary lists them)", errNotFound, m.Kind)
	}
	total := len(snap.Entities)
	at := func(n int) int { return n }
	if m.Kind != "" {
		total = len(all)
		at = func(n int) int { return all[n] }
	}
	limit := m.Limit
	if limit == 0 {
		limit = 50
	}
	r := &EntitiesReply{Kind: m.Kind, Search: m.Search, Total: total, Offset: m.Offset, Rows: []EntityRow{}}
	search := strings.ToLower(strings.TrimSpace(m.Search))
	id, byID := idSearch(search)
	budget := SearchBudget
	if byID {
		budget = IDSearchBudget
	}
	n := m.Offset
	for ; n < total && len(r.Rows) < limit; n++ {
		if search != "" && r.Scanned >= budget {
			break
		}
		r.Scanned++
		i := at(n)
		switch {
		case search == "":
		case byID:
			if snap.Entities[i].ID != id {
				continue
			}
		default:
			if !matches(snap.row(i), search) {
				continue
			}
		}
		r.Rows = append(r.Rows, snap.row(i))
	}
	r.Next, r.More = n, n < total
	return r, nil
}

func (snap *Snapshot) find(r Ref) (int, error) {
	i, ok := snap.byID[r.ID]
	if !ok || snap.Entities[i].Gen != r.Gen {
		return 0, fmt.Errorf("%w: no entity %d (generation %d) in this snapshot", errNotFound, r.ID, r.Gen)
	}
	return i, nil
}

func (snap *Snapshot) entity(r Ref) (*EntityReply, error) {
	i, err := snap.find(r)
	if err != nil {
		return nil, err
	}
	reply := &EntityReply{Entity: r, Kinds: snap.kindsOf(i), Components: map[string]any{}}
	for k, raw := range snap.Entities[i].Components {
		reply.Components[k] = raw
	}
	return reply, nil
}

func (snap *Snapshot) task(r Ref) (*TaskReply, error) {
	i, err := snap.find(r)
	if err != nil {
		return nil, err
	}
	t, ok := snapGet[components.ComputeTask](snap, i, "ComputeTask")
	if !ok {
		return nil, fmt.Errorf("%w: entity %d is not a compute task", errNotFound, r.ID)
	}
	var pl components.Placement
	if p, ok := snapGet[components.Placement](snap, i, "Placement"); ok {
		pl = *p
	}
	reply := explainTask(r, *t, pl, snap.devices(), gpu.DefaultMirrorConfig.Weights)
	if n, ok := snapGet[components.TaskName](snap, i, "TaskName"); ok {
		reply.Name = n.Text
	}
	if m, ok := snapGet[components.Migration](snap, i, "Migration"); ok {
		reply.Migration = m
	}
	return reply, nil
}
