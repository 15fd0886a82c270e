package viewer

import (
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
	frames                          gpu.FrameReader
	before                          gpu.Stats
	upLast, readLast                uint64
	// compose is the last composition's statistics (the summary goes out
	// at most every StateInterval; compositions happen on any tick).
	compose              ComposeInfo
	missedBefore         uint64
	skipped, markersOver uint64
	picked               []ecs.Entity
	sysObs               []prometheus.Observer
	info                 gpu.Info

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
	taskNames *ecs.Map1[components.TaskName]
	moves     *ecs.Map1[components.Migration]
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
		taskNames: ecs.NewMap1[components.TaskName](w.ECS),
		moves:     ecs.NewMap1[components.Migration](w.ECS),
		policy:    ecs.GetResource[policy.Current](w.ECS),
		owners:    map[uint32]string{},
	}
	if m != nil {
		s.frameW.Store(int32(m.Config().FrameWidth))
		s.frameH.Store(int32(m.Config().FrameHeight))
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
// ticks: the boot's, a feed's) as the last tick's, and feeds the pages'
// inputs (keys, pointer) into the inbox for the tick about to run.
func (s *Server) BeforeTick(w *world.World) {
	if t := s.side; t != nil {
		t.drain(w.Clock.Tick)
		if s.mode == ModeLive {
			s.inputs.feed(w)
		}
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
	s.answer(t.cat)
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
		if ms := t.m.Stats(); ms.Composed {
			t.compose = ComposeInfo{Tick: t.w.Clock.Tick, Tiles: ms.ComposedTiles, Pixels: ms.ComposedPixels, DeviceNs: ms.DeviceTime.Compose.Nanoseconds()}
			t.s.met.composedPixels.Add(float64(ms.ComposedPixels))
		}
	}
	t.s.met.sched(ecs.GetResource[components.SchedStats](t.w.ECS))
	if missed := t.sub.Dropped(); missed != t.missedBefore {
		t.s.met.markersMissed.Add(float64(missed - t.missedBefore))
		t.missedBefore = missed
	}
}

// frameTap takes each composition's recomposed tiles. It reads the tap
// through its own FrameReader, so another consumer on the same tick (the
// framebuffer display, boot/display.go) sees every update too; a missed
// update brings a whole frame (the tap stays on).
func (t *tickSide) frameTap() {
	if !t.tap {
		return
	}
	u, ok := t.frames.Next(t.m)
	if !ok {
		return
	}
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
	// Paused, no later tick would bring these tiles: no waiting for the
	// frame interval.
	frameDue := force || s.pace.paused.Load() || now.Sub(t.lastFrame) >= cfg.FrameInterval
	if t.cur.frame == nil && len(t.fcur.dirty) > 0 && frameDue {
		select {
		case next := <-s.hub.ffree:
			t.cur.frame, t.fcur = t.fcur, next
			t.lastFrame = now
		default:
			s.hub.deferred.Store(true)
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
		// The hub is behind: keep it all for the next tick — or, if the
		// world is paused, for the Serve the hub wakes the loop for when
		// it frees a publication.
		t.skipped++
		s.met.publishSkipped.Inc()
		s.hub.deferred.Store(true)
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
