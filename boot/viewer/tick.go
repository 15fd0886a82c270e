package viewer

import (
	"cmp"
	"slices"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// markerBuffer is the subscription's channel: markers emitted while the
// tick side has not drained them (it drains before and after every tick).
// A full one drops markers for the viewer only, counted.
const markerBuffer = 4096

// tickSide is the viewer's part that runs on the goroutine that ticks
// the world. Nothing else touches it; it hands data to the hub only
// through the pools.
type tickSide struct {
	s   *Server
	w   *world.World
	m   *gpu.Mirror
	sub *marker.Subscription
	cur *pub
	// fcur accumulates the frame's recomposed tiles between hand-offs.
	fcur                            *frameBuf
	lastState, lastPlace, lastFrame time.Time
	lastGauges                      time.Time
	tap                             bool
	tapSeq                          uint64
	before                          gpu.Stats
	upLast, readLast                uint64
	missedBefore                    uint64
	skipped, markersOver            uint64
	picked                          []ecs.Entity
	sysObs                          []prometheus.Observer
	info                            gpu.Info

	cat *liveCatalog

	guests    *ecs.Filter1[components.Guest]
	surfaces  *ecs.Filter1[components.Surface]
	rays      *ecs.Filter1[components.AttentionRay]
	devices   *ecs.Filter1[components.Device]
	tasks     *ecs.Filter2[components.ComputeTask, components.Placement]
	pending   *ecs.Filter1[components.PendingConfirmation]
	envelopes *ecs.Map1[components.IntentEnvelope]
	guestMap  *ecs.Map1[components.Guest]
	surfMap   *ecs.Map1[components.Surface]
	rayMap    *ecs.Map1[components.AttentionRay]
	taskMap   *ecs.Map2[components.ComputeTask, components.Placement]
	policy    *policy.Current
	owners    map[uint32]string
	picks     []rayPick
}

// Attach starts serving w, whose pipeline is assembled on mirror m. Call
// it on the goroutine that ticks, before the first tick; every later call
// (BeforeTick, AfterTick, Serve, Ack, Detach) too.
func (s *Server) Attach(w *world.World, m *gpu.Mirror) {
	t := &tickSide{
		s: s, w: w, m: m,
		guests:    ecs.NewFilter1[components.Guest](w.ECS),
		surfaces:  ecs.NewFilter1[components.Surface](w.ECS),
		rays:      ecs.NewFilter1[components.AttentionRay](w.ECS),
		devices:   ecs.NewFilter1[components.Device](w.ECS),
		tasks:     ecs.NewFilter2[components.ComputeTask, components.Placement](w.ECS),
		pending:   ecs.NewFilter1[components.PendingConfirmation](w.ECS),
		envelopes: ecs.NewMap1[components.IntentEnvelope](w.ECS),
		guestMap:  ecs.NewMap1[components.Guest](w.ECS),
		surfMap:   ecs.NewMap1[components.Surface](w.ECS),
		rayMap:    ecs.NewMap1[components.AttentionRay](w.ECS),
		taskMap:   ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS),
		policy:    ecs.GetResource[policy.Current](w.ECS),
		owners:    map[uint32]string{},
	}
	if m != nil {
		t.info = m.Backend.Info()
		t.before = m.Backend.Stats()
		// The tap is turned on once, before the first tick, and stays
		// on: the hub then always holds the whole frame, for a client
		// that connects at any time or to a paused world (no composition
		// would bring it one). The tap reads back only the tiles a
		// composition recomposed, so an unchanged frame costs nothing.
		m.SetFrameTap(true)
		t.tap = true
	}
	t.cat = newLiveCatalog(t)
	for _, sys := range w.Stats.Systems {
		t.sysObs = append(t.sysObs, s.met.system.WithLabelValues(sys.Name))
	}
	// The pools are full between runs: Detach waits for the hub.
	t.cur = <-s.hub.free
	t.fcur = <-s.hub.ffree
	t.cur.reset = true
	// Markers emitted before the viewer subscribed (the boot's): the bus
	// keeps the last 64 lines.
	for _, line := range w.Markers.Recent() {
		if mk, err := marker.Parse(line); err == nil {
			t.cur.markers = append(t.cur.markers, item(mk, 0))
		}
	}
	t.sub = w.Markers.Subscribe(markerBuffer)
	s.side = t
	s.attached.Store(true)
	t.publish(time.Now(), true)
}

// item turns a marker into a timeline entry.
func item(m marker.Marker, tick uint64) MarkerItem {
	return MarkerItem{Tick: tick, Kind: m.Kind.Prefix(), Fields: m.Fields, Line: m.String()}
}

// BeforeTick takes the markers emitted since the last tick (between
// ticks: the boot's, a feed's) as the last tick's.
func (s *Server) BeforeTick(w *world.World) {
	if t := s.side; t != nil {
		t.drain(w.Clock.Tick)
	}
}

// AfterTick publishes what the tick that just ran changed: its markers,
// its timings, the frame's recomposed tiles and, when due, the world
// summary and the placement map. It never waits: what the hub cannot take
// now waits for the next tick.
func (s *Server) AfterTick(w *world.World) {
	t := s.side
	if t == nil {
		return
	}
	tick := w.Clock.Tick
	s.pace.now.Store(tick)
	if s.pace.steps.Load() > 0 && s.pace.steps.Add(-1) == 0 {
		s.hub.forceState.Store(true) // the last step: show where it stopped
	}
	if target := s.pace.target.Load(); target > 0 && tick+1 >= target {
		s.hub.forceState.Store(true) // a seek arrived
	}
	if end := s.pace.end.Load(); end > 0 && tick == end {
		s.hub.forceState.Store(true) // a replay reached its end, and holds there
	}
	t.drain(tick)
	t.observe()
	t.frameTap()
	t.publish(time.Now(), s.hub.forceState.Swap(false))
	s.Serve(w)
}

// Ack takes an ACK from the bridge's outbox for a viewer client; the hub
// routes it to the page that sent the action. A replay's ACKs belong to
// nobody connected now and are ignored.
func (s *Server) Ack(a bridge.Ack) {
	t := s.side
	if t == nil || s.mode != ModeLive || !IsViewerClient(a.Client) {
		return
	}
	if len(t.cur.acks) >= maxPendingAcks {
		// Counted, not logged: the tick takes no lock, not even a logger's.
		s.met.ackDropped.Inc()
		return
	}
	t.cur.acks = append(t.cur.acks, a)
}

// Detach ends serving the world after its run: the last markers and
// state are published (the page keeps showing them) and queries are
// refused until the next Attach.
func (s *Server) Detach(w *world.World) {
	t := s.side
	if t == nil {
		return
	}
	t.drain(w.Clock.Tick)
	t.sub.Close()
	t.fillState(&t.cur.state)
	t.cur.state.Ended, t.cur.hasState = true, true
	s.attached.Store(false)
	s.side = nil
	// The run is over: waiting for the hub is fine now, and gives the
	// pools back full for the next Attach.
	select {
	case s.hub.in <- t.cur:
	case <-s.closed:
		return
	}
	s.hub.ffree <- t.fcur
	s.refuseQueries()
}

// drain moves the markers the subscription holds into the publication,
// as emitted during tick.
func (t *tickSide) drain(tick uint64) {
	for {
		select {
		case m, ok := <-t.sub.C:
			if !ok {
				return
			}
			if len(t.cur.markers) < maxPendingMarkers {
				t.cur.markers = append(t.cur.markers, item(m, tick))
			} else {
				t.markersOver++
				t.s.met.markersMissed.Inc()
			}
		default:
			return
		}
	}
}

// observe records the tick's timings and GPU traffic in the metrics.
func (t *tickSide) observe() {
	st := t.w.Stats
	t.s.met.tick.Observe(st.Last.Seconds())
	t.s.met.ticks.Inc()
	for i := range st.Systems {
		if i < len(t.sysObs) {
			t.sysObs[i].Observe(st.Systems[i].Last.Seconds())
		}
	}
	if t.m != nil {
		after := t.m.Backend.Stats()
		t.upLast, t.readLast = after.BytesUploaded-t.before.BytesUploaded, after.BytesRead-t.before.BytesRead
		t.before = after
		t.s.met.gpuUp.Observe(float64(t.upLast))
		t.s.met.gpuRead.Observe(float64(t.readLast))
		t.s.met.gpuUpTotal.Add(float64(t.upLast))
		t.s.met.gpuReadTotal.Add(float64(t.readLast))
	}
	if missed := t.sub.Dropped(); missed != t.missedBefore {
		t.s.met.markersMissed.Add(float64(missed - t.missedBefore))
		t.missedBefore = missed
	}
}

// frameTap takes each composition's recomposed tiles.
func (t *tickSide) frameTap() {
	if !t.tap {
		return
	}
	u, ok := t.m.FrameUpdate()
	if !ok {
		return
	}
	if t.tapSeq != 0 && u.Seq != t.tapSeq+1 {
		// An update was missed: ask for every tile again (the tap stays
		// on; only the next composition is whole).
		t.m.SetFrameTap(true)
	}
	t.tapSeq = u.Seq
	t.fcur.add(u)
}

// publish fills what is due (everything, when forced: an Attach, the end
// of a step or a seek, a change of pace) into the publication and hands
// it to the hub if the hub has a free one to give back; otherwise it
// keeps it (and its markers and ACKs) for the next tick.
func (t *tickSide) publish(now time.Time, force bool) {
	s := t.s
	clients := s.hub.admitted.Load() > 0
	cfg := &s.cfg
	if force || clients && now.Sub(t.lastState) >= cfg.StateInterval {
		t.fillState(&t.cur.state)
		t.cur.hasState = true
		t.lastState = now
	}
	if now.Sub(t.lastGauges) >= cfg.StateInterval {
		t.gauges()
		t.lastGauges = now
	}
	if force || clients && now.Sub(t.lastPlace) >= cfg.PlacementInterval {
		t.fillPlacement(&t.cur.place)
		t.cur.hasPlace = true
		t.lastPlace = now
	}
	if t.cur.frame == nil && len(t.fcur.dirty) > 0 && (force || now.Sub(t.lastFrame) >= cfg.FrameInterval) {
		select {
		case next := <-s.hub.ffree:
			t.cur.frame, t.fcur = t.fcur, next
			t.lastFrame = now
		default:
		}
	}
	p := t.cur
	if !p.reset && !p.hasState && !p.hasPlace && p.frame == nil && len(p.markers) == 0 && len(p.acks) == 0 {
		return
	}
	select {
	case next := <-s.hub.free:
		s.hub.in <- p // never blocks: in has room for the whole pool
		t.cur = next
	default:
		t.skipped++
		s.met.publishSkipped.Inc()
	}
}

// gauges sets the metrics that are levels, not events.
func (t *tickSide) gauges() {
	var counts [len(components.GuestStateNames)]int
	q := t.guests.Query()
	for q.Next() {
		if g := q.Get(); int(g.State) < len(counts) {
			counts[g.State]++
		}
	}
	for state, n := range counts {
		t.s.met.guestStates[state].Set(float64(n))
	}
}

// governed are the actions whose decision the guest list shows.
var governed = []components.IntentAction{
	components.ActionStart, components.ActionPresent, components.ActionHide, components.ActionShutdown,
	components.ActionSuspend, components.ActionResume,
	components.ActionType, components.ActionPress, components.ActionMouse, components.ActionClick,
}

// fillState summarises the world into st, reusing its slices.
func (t *tickSide) fillState(st *State) {
	w, s := t.w, t.s
	st.T, st.Mode = OutState, s.mode
	st.Tick, st.SimNs, st.Hz, st.Scene, st.Seed = w.Clock.Tick, w.Clock.SimNs, w.Config.Hz, w.Config.Scene, w.Config.Seed
	st.End, st.Ended = s.pace.end.Load(), false
	st.Paused = s.pace.controllable && (s.pace.paused.Load() || st.End > 0 && st.Tick >= st.End)
	t.kinds(st)
	ts := w.Stats
	st.TickNs = timing(ts.Last, ts.Max, ts.Total, ts.Ticks)
	st.Systems = st.Systems[:0]
	for _, sys := range ts.Systems {
		st.Systems = append(st.Systems, SystemTime{Name: sys.Name, Timing: timing(sys.Last, sys.Max, sys.Total, ts.Ticks)})
	}
	t.fillGuests(st)
	t.fillSurfaces(st)
	t.fillRays(st)
	st.GPU = GPUInfo{Backend: t.info.Backend, Device: t.info.Device, Upload: t.upLast, Read: t.readLast}
	if t.m != nil {
		ms := t.m.Stats()
		st.GPU.Composed, st.GPU.Placed, st.GPU.ResultsTick = ms.Composed, ms.Placed, t.m.ResultsTick()
		cfg := t.m.Config()
		st.Frame = FrameInfo{Width: cfg.FrameWidth, Height: cfg.FrameHeight}
	}
	st.Viewer = ViewerInfo{MarkersMissed: t.sub.Dropped() + t.markersOver, PublishSkipped: t.skipped}
}

func timing(last, maxd, total time.Duration, n uint64) Timing {
	tm := Timing{Last: last.Nanoseconds(), Max: maxd.Nanoseconds()}
	if n > 0 {
		tm.Mean = total.Nanoseconds() / int64(n)
	}
	return tm
}

// kinds counts entities per component kind from ark's statistics, which
// it keeps per archetype: no entity is visited.
func (t *tickSide) kinds(st *State) {
	stats := t.w.ECS.Stats()
	st.Entities = stats.Entities.Used
	st.Kinds = st.Kinds[:0]
	for _, name := range stats.ComponentTypeNames {
		st.Kinds = append(st.Kinds, KindCount{Name: name})
	}
	for _, a := range stats.Archetypes {
		for _, id := range a.ComponentIDs {
			if int(id) < len(st.Kinds) {
				st.Kinds[id].Count += a.Size
			}
		}
	}
	slices.SortFunc(st.Kinds, func(a, b KindCount) int { return cmp.Compare(a.Name, b.Name) })
}

func (t *tickSide) fillGuests(st *State) {
	var p *policy.Policy
	if t.policy != nil {
		p = t.policy.Policy
	}
	st.Policy = ""
	if p != nil {
		st.Policy = p.Summary()
	}
	clear(t.owners)
	st.Guests = st.Guests[:0]
	q := t.guests.Query()
	for q.Next() {
		g := q.Get()
		t.owners[g.Number] = g.ID
		gi := GuestInfo{Entity: ref(q.Entity()), ID: g.ID, OS: components.OSKindNames[min(int(g.OS), len(components.OSKindNames)-1)], Presented: g.Presented, Ready: g.Ready}
		if int(g.State) < len(components.GuestStateNames) {
			gi.State = components.GuestStateNames[g.State]
		}
		if p != nil {
			idx := p.Guest(g.ID)
			for _, a := range governed {
				d := p.Decide(idx, a, 1, g.Presented)
				gi.Decisions = append(gi.Decisions, DecisionInfo{
					Action: components.IntentActionNames[a], Verdict: policy.VerdictNames[d.Verdict], Rule: p.Rule(d.Rule),
					Why: p.Explain(g.ID, a, 1, g.Presented),
				})
			}
		}
		st.Guests = append(st.Guests, gi)
	}
	slices.SortFunc(st.Guests, func(a, b GuestInfo) int { return cmp.Compare(a.ID, b.ID) })
	st.Pending = st.Pending[:0]
	pq := t.pending.Query()
	for pq.Next() {
		pc := pq.Get()
		pi := PendingInfo{Rule: pc.Rule, Expires: pc.Expires}
		if e, ok := t.w.Resolve(pc.Envelope); ok && t.envelopes.HasAll(e) {
			env := t.envelopes.Get(e)
			pi.Source, pi.Client = env.Source, env.Client
			if int(env.Action) < len(components.IntentActionNames) {
				pi.Action = components.IntentActionNames[env.Action]
			}
			if g, ok := t.w.Resolve(env.Target); ok && t.guestMap.HasAll(g) {
				pi.Guest = t.guestMap.Get(g).ID
			}
		}
		st.Pending = append(st.Pending, pi)
	}
	slices.SortFunc(st.Pending, func(a, b PendingInfo) int { return cmp.Compare(a.Source, b.Source) })
}

func (t *tickSide) fillSurfaces(st *State) {
	focus := *t.w.Focus
	st.Focus = FocusInfo{Surface: Ref{focus.Surface.ID, focus.Surface.Gen}, Owner: focus.Owner, Weight: focus.Weight, Since: focus.Since}
	st.Surfaces = st.Surfaces[:0]
	q := t.surfaces.Query()
	for q.Next() {
		if len(st.Surfaces) >= MaxSurfaces {
			q.Close()
			break
		}
		sf, e := q.Get(), q.Entity()
		si := SurfaceInfo{Entity: ref(e), X: sf.Rect.X, Y: sf.Rect.Y, W: sf.Rect.W, H: sf.Rect.H, Owner: sf.Owner, Layer: sf.Layer, Flags: sf.Flags, Z: sf.Z}
		if sf.Owner != components.OwnerRayOS {
			si.Guest = t.owners[sf.Owner]
		}
		si.Focused = si.Entity == st.Focus.Surface && si.Entity.ID != 0
		st.Surfaces = append(st.Surfaces, si)
	}
	// Bottom to top, as the compositor draws them.
	slices.SortStableFunc(st.Surfaces, func(a, b SurfaceInfo) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Z, b.Z))
	})
}

// rayPick is a candidate for the overlay: the heaviest rays.
type rayPick struct {
	e      ecs.Entity
	weight float32
}

func (t *tickSide) fillRays(st *State) {
	st.Rays = st.Rays[:0]
	t.picks = t.picks[:0]
	st.RayCount = 0
	q := t.rays.Query()
	for q.Next() {
		st.RayCount++
		r := q.Get()
		if r.Weight <= 0 {
			continue
		}
		t.picks = heaviest(t.picks, rayPick{q.Entity(), r.Weight})
	}
	if t.m == nil {
		return
	}
	slices.SortFunc(t.picks, func(a, b rayPick) int { return cmp.Compare(b.weight, a.weight) })
	for _, p := range t.picks {
		surface, dist, hit, ok := t.m.HitOf(p.e)
		if !ok || !hit || !t.surfMap.HasAll(surface) {
			continue
		}
		x, y, in := hitPoint(t.rayMap.Get(p.e), dist, t.surfMap.Get(surface))
		if !in {
			continue
		}
		st.Rays = append(st.Rays, RayInfo{Entity: ref(p.e), X: x, Y: y, Weight: p.weight, Surface: ref(surface)})
	}
}

// heaviest keeps the MaxRays heaviest picks: a min-heap on weight.
func heaviest(h []rayPick, p rayPick) []rayPick {
	if len(h) < MaxRays {
		h = append(h, p)
		for i := len(h) - 1; i > 0; {
			parent := (i - 1) / 2
			if h[parent].weight <= h[i].weight {
				break
			}
			h[parent], h[i] = h[i], h[parent]
			i = parent
		}
		return h
	}
	if p.weight <= h[0].weight {
		return h
	}
	h[0] = p
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].weight < h[m].weight {
			m = l
		}
		if r < len(h) && h[r].weight < h[m].weight {
			m = r
		}
		if m == i {
			return h
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
}

// hitPoint maps where a ray meets a surface quad onto the surface's
// rectangle on the frame: the quad spans Center ± Right × HalfWidth ±
// Up × HalfHeight, the rectangle runs left to right and top to bottom.
func hitPoint(r *components.AttentionRay, dist float32, s *components.Surface) (x, y float32, ok bool) {
	if s.HalfWidth == 0 || s.HalfHeight == 0 {
		return 0, 0, false
	}
	var d components.Vec3
	for i := range d {
		d[i] = r.Origin[i] + r.Direction[i]*dist - s.Center[i]
	}
	u := (d[0]*s.Right[0] + d[1]*s.Right[1] + d[2]*s.Right[2]) / s.HalfWidth
	v := (d[0]*s.Up[0] + d[1]*s.Up[1] + d[2]*s.Up[2]) / s.HalfHeight
	x = float32(s.Rect.X) + (u+1)/2*float32(s.Rect.W)
	y = float32(s.Rect.Y) + (1-v)/2*float32(s.Rect.H)
	return x, y, u >= -1.001 && u <= 1.001 && v >= -1.001 && v <= 1.001
}

// fillPlacement lists the devices and a sample of the tasks spread evenly
// over the task query (TaskSample of them, whatever the world's size).
func (t *tickSide) fillPlacement(pl *Placement) {
	pl.T, pl.Tick = OutPlacement, t.w.Clock.Tick
	pl.Devices = pl.Devices[:0]
	q := t.devices.Query()
	for q.Next() {
		if len(pl.Devices) >= MaxDevices {
			q.Close()
			break
		}
		pl.Devices = append(pl.Devices, deviceInfo(ref(q.Entity()), q.Get()))
	}
	pl.Tasks = pl.Tasks[:0]
	tq := t.tasks.Query()
	n := tq.Count()
	pl.TaskCount = n
	k := min(n, TaskSample)
	t.picked = t.picked[:0]
	for i := range k {
		t.picked = append(t.picked, tq.EntityAt(i*n/k))
	}
	tq.Close()
	for _, e := range t.picked {
		task, p := t.taskMap.Get(e)
		pl.Tasks = append(pl.Tasks, TaskInfo{Entity: ref(e), Pos: task.Affinity, Demand: task.Demand, Device: p.Device, Cost: p.Cost})
	}
}

func deviceInfo(r Ref, d *components.Device) DeviceInfo {
	return DeviceInfo{Entity: r, Pos: d.Position, Capacity: d.Capacity, Load: d.Load, Temperature: d.Temperature, EnergyCost: d.EnergyCost, Kind: d.Kind}
}

func ref(e ecs.Entity) Ref { return Ref{ID: e.ID(), Gen: e.Gen()} }
