package viewer

import (
	"cmp"
	"slices"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/policy"
)

// What the tick side reads from the world for a publication: the summary
// (State) and the placement map. Each is bounded whatever the world's
// size (MaxSurfaces, MaxRays, MaxDevices, TaskSample).

// governed are the actions whose decision the guest list shows.
var governed = []components.IntentAction{
	components.ActionStart, components.ActionPresent, components.ActionHide, components.ActionShutdown,
	components.ActionSuspend, components.ActionResume,
	components.ActionType, components.ActionPress, components.ActionMouse, components.ActionClick,
}

// fillSched copies the scheduler's counts, one row per reason.
func fillSched(si *SchedInfo, ss *components.SchedStats) {
	si.Migrations, si.Hot = si.Migrations[:0], 0
	if ss == nil {
		return
	}
	si.Hot = ss.Hot
	for r := components.ReasonPlaced; int(r) < len(components.MigrationReasonNames); r++ {
		si.Migrations = append(si.Migrations, MigrationCount{Reason: components.MigrationReasonNames[r], Last: ss.Last[r], Total: ss.Total[r]})
	}
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
		st.GPU.LastCompose = t.compose
		cfg := t.m.Config()
		st.Frame = FrameInfo{Width: cfg.FrameWidth, Height: cfg.FrameHeight}
	}
	fillSched(&st.Sched, ecs.GetResource[components.SchedStats](w.ECS))
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
	return DeviceInfo{Entity: r, Pos: d.Position, Capacity: d.Capacity, Load: d.Load, Temperature: d.Temperature, EnergyCost: d.EnergyCost, Kind: d.Kind, Slot: d.Slot}
}

func ref(e ecs.Entity) Ref { return Ref{ID: e.ID(), Gen: e.Gen()} }
