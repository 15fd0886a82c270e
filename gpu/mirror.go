package gpu

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// MirrorConfig sizes a Mirror.
type MirrorConfig struct {
	// FrameWidth and FrameHeight are the framebuffer's size in pixels.
	FrameWidth, FrameHeight int
	// Background is the RGBA colour under all surfaces.
	Background uint32
	// Weights scale the placement cost terms.
	Weights Weights
}

// Mirror is a world's GPU residency: a Column per mirrored component, the
// kernels' other buffers, one program that runs every kernel, and the
// results of its last collected run. It lives in the world as a resource;
// the gpu-submit system calls Submit at the end of each tick, which first
// collects the run started at the end of the previous tick — the device
// worked on it while this tick's systems ran — then starts the next.
// Systems read results computed from the world two ticks back
// (ResultsTick).
type Mirror struct {
	Backend  Backend
	Surfaces *Column[components.Surface]
	Rays     *Column[components.AttentionRay]
	Tasks    *Column[components.ComputeTask]
	Devices  *Column[components.Device]

	cfg        MirrorConfig
	placements *ecs.Map[components.Placement]
	surfaces   *ecs.Map[components.Surface]

	// Requests for the next Submit, set by systems during the tick.
	// PlaceRequested asks for placement decisions: of every unplaced task,
	// and of the placed ones in the rebalance window (slot %
	// RebalanceStride == RebalancePhase; a placed task moves only for a
	// cost below staying × PlaceGain). A compose runs whenever something
	// on screen changed, and recomposes only the damaged tiles;
	// ComposeRequested recomposes the whole frame.
	// WaitStride and WaitPhase choose the waiting tasks (SetWaiting) the
	// run evaluates, the same way.
	PlaceRequested, ComposeRequested bool
	RebalanceStride, RebalancePhase  uint32
	WaitStride, WaitPhase            uint32
	PlaceGain                        float32
	// BinEverything lists every drawn surface for every damaged tile:
	// the brute force that binning is benchmarked against. Off, always,
	// outside benchmarks.
	BinEverything bool
	// RunTick is the tick whose world the next Submit uploads (gpu-submit
	// sets it), so that results can say which world they were computed
	// from.
	RunTick uint64

	// Per-kernel buffers besides the columns, and the host arrays that
	// feed or receive them.
	hitParams, hits, rayDirty, hitChanges, hitCount, indirect Buffer
	placeParams, current, actions, actionCount                Buffer
	clusters, placeOrder                                      Buffer
	composeParams, textures, atlas, frame                     Buffer
	decorBuf, tileList, tileStart, tileSlots, tapBuf, tapBack Buffer
	// The readback copies of what the CPU reads each run — the counts and
	// the first ReadbackPrefix entries of the compact lists — filled by
	// the program's copy steps; whole lists by the tail program when a run
	// produced more; the frame's copy on demand.
	hitCountBack, hitChangesBack, actionCountBack, actionsBack Buffer
	hitChangesAll, actionsAll                                  Buffer
	tailProgram, frameProgram                                  Program
	tailRecorded, frameRecorded                                bool
	frameBack                                                  Buffer
	hostHits                                                   []Hit
	hostChanges                                                []HitChange
	hostRayDirty                                               []uint32
	hostActions                                                []PlaceAction
	hostDevices                                                []components.Device
	// hostClusters and hostPlaceOrder are the device clusters the place
	// kernel prunes with (BuildClusters), rebuilt every placement run from
	// the device positions; sentClusters and sentPlaceOrder what the
	// buffers hold, so that unchanged clusters are not uploaded again.
	// clusteredAt is the device positions they were built from: most runs
	// find them unchanged and build nothing.
	hostClusters, sentClusters     []Cluster
	hostPlaceOrder, sentPlaceOrder []uint32
	clusteredAt                    []components.Vec3
	// hostCurrent is every task slot's device (1 + device slot, 0 when
	// unplaced), kept as tasks move slots and the scheduler places them
	// (SetPlacement); currentDirty marks the slots to upload, and
	// currentDevices is the Devices column's Version it was built at — a
	// device that comes or goes renumbers device slots, and the array is
	// built again from the placements.
	hostCurrent    []uint32
	currentDirty   []uint64
	currentDevices uint64
	currentValid   bool
	hostSurf       []components.Surface
	// The texture atlas: every texture's texels (atlas.go).
	atlasTex                                               map[atlasKey]Texture
	atlasHost                                              []uint32
	atlasDirty                                             bool
	atlasRanges                                            [][2]uint32
	program                                                Program
	recorded                                               bool
	inFlight, placeInFlight, composeInFlight, everComposed bool
	// hitRuns says the hit kernel has work in this run; everHit that it
	// ran at least once (the first run tests every ray).
	hitRuns, everHit bool
	// flightTick is the RunTick of the run in flight; resultsTick that of
	// the run last collected.
	flightTick, resultsTick uint64

	// Results of the last collected run, with the slot generations and
	// slot owners they were computed for.
	// flight is the world as the run in flight saw it; result as the run
	// last collected saw it, which is what HitOf and Decisions answer
	// from. Collect swaps them.
	flight, result runView
	decisions      []Decision
	devices        *ecs.Map[components.Device]

	stats MirrorStats
	// tap is the frame tap (SetFrameTap, FrameUpdate); comp the
	// compositor's damage and bins (compositor.go).
	tap       frameTap
	frameCopy frameCopy
	comp      compositor
	// params are the kernels' parameter blocks, kept here so that writing
	// them each tick does not allocate.
	params struct {
		hit     [1]HitParams
		place   [1]PlaceParams
		compose [1]ComposeParams
		// groups holds the x, y, z workgroup counts of hit, place and
		// compose at offsets 0, 16 and 32 bytes.
		groups [12]uint32
		// counts receives the lengths of the compact lists a run appended.
		counts [2]uint32
	}
}

// runView is what a run's results refer to: the slot generations and
// slot owners of the world it was submitted with.
type runView struct {
	hitGens, choiceGens                     []uint32
	hitSurfaces, choiceTasks, choiceDevices []ecs.Entity
}

// MirrorStats is what the last Submit moved.
type MirrorStats struct {
	// ColumnBytes is what the column syncs uploaded (component data).
	ColumnBytes int `json:"column_bytes"`
	// AuxBytes is what the params and per-kernel inputs uploaded.
	AuxBytes int `json:"aux_bytes"`
	// Composed and Placed say which optional kernels ran.
	Composed bool `json:"composed"`
	Placed   bool `json:"placed"`
	// ReadBytes is what the CPU read back of the previous run's results:
	// counts and the compact lists of changed hits and placement
	// decisions (8 bytes, the counts, for a world where nothing changed).
	ReadBytes int `json:"read_bytes"`
	// DeviceTime is how long the previous run took on the device, per
	// step: the hit, place and compose kernels and the readback copies
	// (zero where the backend cannot time programs, see gpu.Timer).
	DeviceTime StepTimes `json:"device_time"`
	// Rerecorded says the program was recorded again (a buffer grew).
	Rerecorded bool `json:"rerecorded"`
	// ComposedTiles and ComposedPixels are what this run recomposes: the
	// damaged tiles, and the frame pixels in them (0 when nothing on
	// screen changed).
	ComposedTiles  int `json:"composed_tiles"`
	ComposedPixels int `json:"composed_pixels"`
}

// StepTimes is the device time of one run of the mirror's program.
type StepTimes struct {
	Hit     time.Duration `json:"hit_ns"`
	Place   time.Duration `json:"place_ns"`
	Compose time.Duration `json:"compose_ns"`
	Copies  time.Duration `json:"copies_ns"`
}

// NewMirror mirrors the GPU components of w onto b.
func NewMirror(w *ecs.World, b Backend, cfg MirrorConfig) (*Mirror, error) {
	if cfg.FrameWidth <= 0 || cfg.FrameHeight <= 0 {
		return nil, fmt.Errorf("gpu: framebuffer %d×%d", cfg.FrameWidth, cfg.FrameHeight)
	}
	m := &Mirror{Backend: b, cfg: cfg, atlasTex: map[atlasKey]Texture{}, PlaceGain: 1,
		placements: ecs.NewMap[components.Placement](w), surfaces: ecs.NewMap[components.Surface](w),
		devices: ecs.NewMap[components.Device](w)}
	var err error
	if m.Surfaces, err = NewColumn[components.Surface](w, b, 0); err != nil {
		return nil, err
	}
	if m.Rays, err = NewColumn[components.AttentionRay](w, b, 0); err != nil {
		return nil, err
	}
	if m.Tasks, err = NewColumn[components.ComputeTask](w, b, 0); err != nil {
		return nil, err
	}
	if m.Devices, err = NewColumn[components.Device](w, b, 0); err != nil {
		return nil, err
	}
	m.Tasks.OnMove = func(from, to int) {
		if from < len(m.hostCurrent) && to < len(m.hostCurrent) {
			m.hostCurrent[to] = m.hostCurrent[from]
			m.markCurrent(to)
		}
	}
	m.Tasks.OnAdd = func(slot int) {
		for len(m.hostCurrent) <= slot {
			m.hostCurrent = append(m.hostCurrent, 0)
		}
		m.hostCurrent[slot] = 0 // new tasks are unplaced until the scheduler says otherwise
		m.markCurrent(slot)
	}
	m.atlasHost = make([]uint32, 0, 4096)
	if m.frame, err = b.NewBuffer(cfg.FrameWidth*cfg.FrameHeight*4, RoleDevice); err != nil {
		return nil, err
	}
	for _, p := range []*Buffer{&m.hitParams, &m.placeParams, &m.composeParams, &m.indirect, &m.hitCount, &m.actionCount, &m.hitCountBack, &m.actionCountBack} {
		if *p, err = b.NewBuffer(128, m.roleOf(p)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ReadbackPrefix is how many entries of each compact result list every run
// copies into cached host memory. A run with more (the first placement of
// a world, a rebalance) copies the whole list with a second program.
const ReadbackPrefix = 4096

// roleOf says which role each of the mirror's own buffers has: kernel
// outputs live on the device, their readback copies in cached host
// memory, everything the CPU writes in upload memory.
func (m *Mirror) roleOf(buf *Buffer) Role {
	switch buf {
	case &m.hits, &m.hitChanges, &m.actions, &m.frame, &m.tapBuf:
		return RoleDevice
	case &m.hitCountBack, &m.hitChangesBack, &m.actionCountBack, &m.actionsBack, &m.hitChangesAll, &m.actionsAll, &m.frameBack, &m.tapBack:
		return RoleReadback
	}
	return RoleUpload // the counts too: zeroed by the CPU, then appended to by a run
}

// Config returns the mirror's configuration.
func (m *Mirror) Config() MirrorConfig { return m.cfg }

// ensure makes buf hold at least n bytes, reporting whether it was
// replaced (which invalidates the recorded program). The old buffer is
// freed: callers run while no program is in flight.
func (m *Mirror) ensure(buf *Buffer, n int) (bool, error) {
	n = max(n, 16)
	if buf.Valid() && buf.Size() >= n {
		return false, nil
	}
	size := max(n, 2*buf.Size())
	nb, err := m.Backend.NewBuffer(size, m.roleOf(buf))
	if err != nil {
		return false, err
	}
	if buf.Valid() {
		m.Backend.Free(*buf)
	}
	*buf = nb
	return true, nil
}

// Submit uploads what changed, writes each kernel's parameters and starts
// the program: the hit test always, placement when requested, composition
// when a surface or texture changed. It waits first for a run that was
// never collected.
func (m *Mirror) Submit() error {
	if err := m.Collect(); err != nil {
		return err
	}
	read, device := m.stats.ReadBytes, m.stats.DeviceTime
	m.stats = MirrorStats{ReadBytes: read, DeviceTime: device}
	surfacesChanged := m.Surfaces.nDirty > 0
	raysChanged := m.Rays.nDirty > 0
	// Which rays changed, before the sync clears the marks: with no
	// surface changed, only they need a hit test.
	m.hostRayDirty = m.Rays.DirtyBits(m.hostRayDirty)
	grownColumn, err := m.Sync()
	if err != nil {
		return err
	}
	rerecord := !m.recorded || grownColumn

	nRays, nTasks, nSurfaces, nDevices := m.Rays.Len(), m.Tasks.Len(), m.Surfaces.Len(), m.Devices.Len()
	hitsBefore, currentBefore, tapBefore := m.hits, m.current, m.tapBuf

	// What the frame must recompose: the compositor's plan is made on the
	// host, before the buffers are sized, because the bins' size depends
	// on it.
	if m.ComposeRequested || m.tap.on && m.tap.full {
		m.DamageAll()
	}
	m.composeInFlight = false
	if surfacesChanged || m.comp.dirty || m.comp.version != m.Surfaces.Version || m.atlasDirty || len(m.atlasRanges) > 0 || !m.everComposed || anySet(m.comp.damage) {
		m.composeInFlight = m.planCompose()
	}
	tapBytes := 16
	if m.tap.on {
		tx, ty := TilesFor(m.cfg.FrameWidth, m.cfg.FrameHeight)
		tapBytes = tx * ty * TileSize * TileSize * 4
	}
	bins := &m.comp.bins
	grown := false
	for _, need := range []struct {
		buf *Buffer
		n   int
	}{
		{&m.hits, nRays * 8}, {&m.rayDirty, len(m.hostRayDirty) * 4}, {&m.hitChanges, nRays * 16}, {&m.hitChangesBack, min(nRays, ReadbackPrefix) * 16},
		{&m.current, nTasks * 4}, {&m.actions, nTasks * 48}, {&m.actionsBack, min(nTasks, ReadbackPrefix) * 48},
		{&m.clusters, nDevices * 32}, {&m.placeOrder, nDevices * 4},
		{&m.textures, nSurfaces * 16}, {&m.decorBuf, nSurfaces * 32}, {&m.atlas, len(m.atlasHost) * 4},
		{&m.tileList, len(bins.Tiles) * 4}, {&m.tileStart, len(bins.Start) * 4}, {&m.tileSlots, len(bins.Slots) * 4},
		{&m.tapBuf, tapBytes}, {&m.tapBack, tapBytes},
	} {
		g, err := m.ensure(need.buf, need.n)
		if err != nil {
			return err
		}
		grown = grown || g
	}
	if m.hits != hitsBefore {
		// A new hits buffer starts zeroed, and so must the host's copy of
		// it: every ray's first result then counts as a change.
		m.hostHits = resize(m.hostHits, m.hits.Size()/8)
		clear(m.hostHits)
	}
	if grown {
		m.atlasDirty = true
		m.sentClusters, m.sentPlaceOrder = m.sentClusters[:0], m.sentPlaceOrder[:0]
		rerecord = true
	}
	if m.tapBuf != tapBefore {
		m.releaseTapPrograms()
	}
	if rerecord {
		if err := m.record(); err != nil {
			return err
		}
		m.stats.Rerecorded = true
	}
	if err := errors.Join(m.writeAux(m.hitCount, Bytes(zeroCount[:])), m.writeAux(m.actionCount, Bytes(zeroCount[:]))); err != nil {
		return err
	}

	// Every ray is tested when a surface changed or the results on the
	// device start afresh; otherwise only the rays that changed, and none
	// at all when none did.
	allRays := surfacesChanged || m.hits != hitsBefore || grownColumn || !m.everHit
	m.hitRuns = nRays > 0 && nSurfaces > 0 && (allRays || raysChanged)
	hit := &m.params.hit[0]
	*hit = HitParams{RayCount: uint32(nRays), SurfaceCount: uint32(nSurfaces)}
	if m.hitRuns && !allRays {
		hit.DirtyOnly = 1
		if err := m.writeAux(m.rayDirty, Bytes(m.hostRayDirty)); err != nil {
			return err
		}
	}
	if m.hitRuns {
		m.everHit = true
	}
	if err := m.writeAux(m.hitParams, Bytes(m.params.hit[:])); err != nil {
		return err
	}
	f := &m.flight
	f.hitGens = m.Rays.CopyGens(f.hitGens)
	f.hitSurfaces = append(f.hitSurfaces[:0], m.Surfaces.entities...)

	place := &m.params.place[0]
	*place = PlaceParams{Weights: m.cfg.Weights, Gain: m.PlaceGain}
	m.placeInFlight = m.PlaceRequested && nTasks > 0 && nDevices > 0
	if m.placeInFlight {
		place.TaskCount, place.DeviceCount = uint32(nTasks), uint32(nDevices)
		place.RebalanceStride, place.RebalancePhase = m.RebalanceStride, m.RebalancePhase
		place.WaitStride, place.WaitPhase = m.WaitStride, m.WaitPhase
		m.hostDevices = m.hostDevices[:0]
		for _, e := range m.Devices.entities {
			m.hostDevices = append(m.hostDevices, *m.devices.Get(e))
		}
		place.FitLimit = FitLimits(m.hostDevices)
		if Clusterable(m.cfg.Weights, m.hostDevices) {
			if err := m.syncClusters(); err != nil {
				return err
			}
			place.ClusterCount = uint32(len(m.hostClusters))
		}
		if err := m.syncCurrent(m.current != currentBefore); err != nil {
			return err
		}
		f.choiceGens = m.Tasks.CopyGens(f.choiceGens)
		f.choiceTasks = append(f.choiceTasks[:0], m.Tasks.entities...)
		f.choiceDevices = append(f.choiceDevices[:0], m.Devices.entities...)
		m.stats.Placed = true
	}
	if err := m.writeAux(m.placeParams, Bytes(m.params.place[:])); err != nil {
		return err
	}
	m.PlaceRequested = false

	compose := &m.params.compose[0]
	*compose = ComposeParams{Background: m.cfg.Background}
	if m.composeInFlight {
		if err := m.uploadCompose(compose); err != nil {
			return err
		}
		m.everComposed = true
		m.stats.Composed = true
	} else if err := m.uploadAtlas(); err != nil {
		return err
	}
	if err := m.writeAux(m.composeParams, Bytes(m.params.compose[:])); err != nil {
		return err
	}
	m.ComposeRequested = false

	// A kernel with nothing to do runs zero workgroups: the recorded program
	// stays the same, only its indirect arguments change.
	g := &m.params.groups
	*g = [12]uint32{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0}
	if m.hitRuns {
		g[0] = GroupsFor(nRays)
	}
	if m.placeInFlight {
		g[4] = GroupsFor(nTasks)
	}
	if m.composeInFlight {
		g[8] = GroupsFor(len(bins.Tiles) * TileSize * TileSize)
	}
	if err := m.writeAux(m.indirect, Bytes(g[:])); err != nil {
		return err
	}

	if err := m.Backend.Submit(m.program); err != nil {
		return err
	}
	m.inFlight, m.flightTick = true, m.RunTick
	return nil
}

// ResultsTick is the tick whose world the current results (HitOf,
// Decisions) were computed from: with gpu-submit collecting at the end of
// the next tick, two ticks before the one that reads them.
func (m *Mirror) ResultsTick() uint64 { return m.resultsTick }

// syncClusters rebuilds the device clusters when a device slot's position
// changed (a device moved, came or went) and uploads them when they differ
// from what the buffers hold: devices rarely move, so most runs build and
// upload nothing.
func (m *Mirror) syncClusters() error {
	same := len(m.clusteredAt) == len(m.hostDevices)
	for i := 0; same && i < len(m.hostDevices); i++ {
		same = m.clusteredAt[i] == m.hostDevices[i].Position
	}
	if !same {
		m.hostClusters, m.hostPlaceOrder = BuildClusters(m.hostDevices, m.hostClusters, m.hostPlaceOrder)
		m.clusteredAt = m.clusteredAt[:0]
		for i := range m.hostDevices {
			m.clusteredAt = append(m.clusteredAt, m.hostDevices[i].Position)
		}
	}
	if slices.Equal(m.hostClusters, m.sentClusters) && slices.Equal(m.hostPlaceOrder, m.sentPlaceOrder) {
		return nil
	}
	if err := errors.Join(m.writeAux(m.clusters, Bytes(m.hostClusters)), m.writeAux(m.placeOrder, Bytes(m.hostPlaceOrder))); err != nil {
		m.sentClusters, m.sentPlaceOrder = m.sentClusters[:0], m.sentPlaceOrder[:0]
		return err
	}
	m.sentClusters = append(m.sentClusters[:0], m.hostClusters...)
	m.sentPlaceOrder = append(m.sentPlaceOrder[:0], m.hostPlaceOrder...)
	return nil
}

// SetPlacement tells the mirror that task now sits on device (the zero
// entity: nowhere), so the task → device array the place kernel reads
// needs no walk over every task. The scheduler calls it for every
// placement it makes.
func (m *Mirror) SetPlacement(task, device ecs.Entity) {
	slot, _, ok := m.Tasks.Slot(task)
	if !ok || slot >= len(m.hostCurrent) {
		return
	}
	cur := uint32(0)
	if d, _, ok := m.Devices.Slot(device); ok {
		cur = uint32(d + 1)
	}
	if m.hostCurrent[slot] != cur {
		m.hostCurrent[slot] = cur
		m.markCurrent(slot)
	}
}

// SetWaiting tells the mirror that task is unplaced and its last decision
// was turned away: the place kernel evaluates it only in the wait window
// (WaitStride, WaitPhase) until it is placed. The scheduler records the
// same in the task's Placement (Device 0, Tick ≠ 0), from which a rebuild
// of the array derives it again.
func (m *Mirror) SetWaiting(task ecs.Entity) {
	slot, _, ok := m.Tasks.Slot(task)
	if !ok || slot >= len(m.hostCurrent) || m.hostCurrent[slot] == Waiting {
		return
	}
	m.hostCurrent[slot] = Waiting
	m.markCurrent(slot)
}

// InvalidatePlacements makes the next placement run rebuild the task →
// device array from every task's Placement (the scheduler's periodic
// recompute, or placements changed behind its back).
func (m *Mirror) InvalidatePlacements() { m.currentValid = false }

func (m *Mirror) markCurrent(slot int) {
	word := slot / 64
	for len(m.currentDirty) <= word {
		m.currentDirty = append(m.currentDirty, 0)
	}
	m.currentDirty[word] |= 1 << (slot % 64)
}

// syncCurrent uploads the task → device array: rebuilt from the
// placements when device slots changed (or it was invalidated), and then,
// as otherwise, only the slots that changed since the last upload.
// reupload forces a whole upload (its buffer was just replaced).
func (m *Mirror) syncCurrent(reupload bool) error {
	n := m.Tasks.Len()
	for len(m.hostCurrent) < n {
		m.hostCurrent = append(m.hostCurrent, 0)
	}
	if !m.currentValid || m.currentDevices != m.Devices.Version {
		for slot, e := range m.Tasks.entities {
			cur := uint32(0)
			if m.placements.HasUnchecked(e) {
				pl := m.placements.GetUnchecked(e)
				if d, ok := m.Devices.SlotOfID(pl.Device); ok {
					cur = uint32(d + 1)
				} else if pl.Device == 0 && pl.Tick != 0 {
					cur = Waiting
				}
			}
			// Only what differs is uploaded: the scheduler's periodic
			// recompute finds next to nothing changed, and a million
			// tasks' array is 4 MB.
			if m.hostCurrent[slot] != cur {
				m.hostCurrent[slot] = cur
				m.markCurrent(slot)
			}
		}
		m.currentValid, m.currentDevices = true, m.Devices.Version
	}
	if reupload {
		clear(m.currentDirty)
		return m.writeAux(m.current, Bytes(m.hostCurrent[:n]))
	}
	// Dirty runs, merged across short gaps, as the columns do.
	start, last := -1, -1
	flush := func() error {
		if start < 0 {
			return nil
		}
		err := m.writeAt(m.current, start*4, Bytes(m.hostCurrent[start:last+1]))
		start = -1
		return err
	}
	for word, set := range m.currentDirty {
		if set == 0 {
			continue
		}
		m.currentDirty[word] = 0
		for ; set != 0; set &= set - 1 {
			slot := word*64 + bits.TrailingZeros64(set)
			if slot >= n {
				continue
			}
			if start >= 0 && slot > last+mergeGap {
				if err := flush(); err != nil {
					return err
				}
			}
			if start < 0 {
				start = slot
			}
			last = slot
		}
	}
	return flush()
}

// zeroCount is what the counts of the compact lists start each run at.
var zeroCount [1]uint32

// Sync uploads the dirty slots of every column (Submit does it first) and
// reports whether a column moved to a bigger buffer.
func (m *Mirror) Sync() (grown bool, err error) {
	g1, err1 := m.Surfaces.Sync()
	g2, err2 := m.Rays.Sync()
	g3, err3 := m.Tasks.Sync()
	g4, err4 := m.Devices.Sync()
	m.stats.ColumnBytes = m.Surfaces.stats.LastBytes + m.Rays.stats.LastBytes + m.Tasks.stats.LastBytes + m.Devices.stats.LastBytes
	return g1 || g2 || g3 || g4, errors.Join(err1, err2, err3, err4)
}

func (m *Mirror) writeAux(b Buffer, data []byte) error { return m.writeAt(b, 0, data) }

func (m *Mirror) writeAt(b Buffer, offset int, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	m.stats.AuxBytes += len(data)
	return m.Backend.Write(b, offset, data)
}

// record builds the one program: hit, place and compose (independent:
// they read the columns and write outputs of their own), then the copies
// of what the CPU reads — the counts and the heads of the compact lists —
// into their readback buffers. The tail program, which copies whole
// lists, is recorded again on its next use.
func (m *Mirror) record() error {
	if m.recorded {
		m.Backend.Release(m.program)
	}
	if m.tailRecorded {
		m.Backend.Release(m.tailProgram)
		m.tailRecorded = false
	}
	p, err := m.Backend.Record([]Dispatch{
		{Kernel: "hit", Buffers: []Buffer{m.hitParams, m.Rays.Buffer(), m.Surfaces.Buffer(), m.hits, m.rayDirty, m.hitChanges, m.hitCount}, Indirect: m.indirect, IndirectOffset: 0},
		{Kernel: "place", Buffers: []Buffer{m.placeParams, m.Tasks.Buffer(), m.Devices.Buffer(), m.current, m.clusters, m.placeOrder, m.actions, m.actionCount}, Indirect: m.indirect, IndirectOffset: 16},
		{Kernel: "compose", Buffers: []Buffer{m.composeParams, m.Surfaces.Buffer(), m.textures, m.decorBuf, m.atlas, m.tileList, m.tileStart, m.tileSlots, m.frame, m.tapBuf},
			Indirect: m.indirect, IndirectOffset: 32},
		{CopyFrom: m.hitCount, CopyTo: m.hitCountBack, CopyBytes: 4},
		{CopyFrom: m.hitChanges, CopyTo: m.hitChangesBack, CopyBytes: min(m.hitChanges.Size(), m.hitChangesBack.Size())},
		{CopyFrom: m.actionCount, CopyTo: m.actionCountBack, CopyBytes: 4},
		{CopyFrom: m.actions, CopyTo: m.actionsBack, CopyBytes: min(m.actions.Size(), m.actionsBack.Size())},
	})
	if err != nil {
		return err
	}
	m.program, m.recorded = p, true
	return nil
}

// readTail copies the whole compact lists of the last run into cached
// host memory, for a run that appended more than ReadbackPrefix entries.
func (m *Mirror) readTail() error {
	if !m.tailRecorded {
		for _, b := range []struct {
			all *Buffer
			src Buffer
		}{{&m.hitChangesAll, m.hitChanges}, {&m.actionsAll, m.actions}} {
			if !b.all.Valid() || b.all.Size() < b.src.Size() {
				if b.all.Valid() {
					m.Backend.Free(*b.all)
				}
				nb, err := m.Backend.NewBuffer(b.src.Size(), RoleReadback)
				if err != nil {
					return err
				}
				*b.all = nb
			}
		}
		p, err := m.Backend.Record([]Dispatch{
			{CopyFrom: m.hitChanges, CopyTo: m.hitChangesAll, CopyBytes: m.hitChanges.Size()},
			{CopyFrom: m.actions, CopyTo: m.actionsAll, CopyBytes: m.actions.Size()},
		})
		if err != nil {
			return err
		}
		m.tailProgram, m.tailRecorded = p, true
	}
	return errors.Join(m.Backend.Submit(m.tailProgram), m.Backend.Wait())
}

// Collect waits for the submitted run and reads back what changed: the
// rays whose hit changed (applied to the host's copy of every hit) and, if
// placement ran, the decisions to act on. It does nothing when no run is
// in flight.
func (m *Mirror) Collect() error {
	if !m.inFlight {
		return nil
	}
	m.inFlight, m.resultsTick = false, m.flightTick
	// The hits of this run refer to its world; placement decisions too,
	// if it placed (otherwise the last placement's view stays).
	m.result.hitGens, m.flight.hitGens = m.flight.hitGens, m.result.hitGens
	m.result.hitSurfaces, m.flight.hitSurfaces = m.flight.hitSurfaces, m.result.hitSurfaces
	if m.placeInFlight {
		m.result.choiceGens, m.flight.choiceGens = m.flight.choiceGens, m.result.choiceGens
		m.result.choiceTasks, m.flight.choiceTasks = m.flight.choiceTasks, m.result.choiceTasks
		m.result.choiceDevices, m.flight.choiceDevices = m.flight.choiceDevices, m.result.choiceDevices
	}
	m.stats.ReadBytes = 0
	if err := m.Backend.Wait(); err != nil {
		return err
	}
	if timer, ok := m.Backend.(Timer); ok {
		// Steps: hit, place, compose, then the readback copies.
		if t := timer.StepTimes(m.program); len(t) >= 3 {
			m.stats.DeviceTime = StepTimes{Hit: t[0], Place: t[1], Compose: t[2]}
			for _, c := range t[3:] {
				m.stats.DeviceTime.Copies += c
			}
		}
	}
	counts := &m.params.counts
	if err := errors.Join(m.Backend.Read(m.hitCountBack, 0, Bytes(counts[0:1])), m.Backend.Read(m.actionCountBack, 0, Bytes(counts[1:2]))); err != nil {
		return err
	}
	m.stats.ReadBytes += 8
	nChanges, nActions := int(counts[0]), int(counts[1])
	if !m.placeInFlight {
		nActions = 0
	}
	changesFrom, actionsFrom := m.hitChangesBack, m.actionsBack
	if nChanges > ReadbackPrefix || nActions > ReadbackPrefix {
		if err := m.readTail(); err != nil {
			return err
		}
		changesFrom, actionsFrom = m.hitChangesAll, m.actionsAll
	}
	m.hostChanges = resize(m.hostChanges, nChanges)
	if err := m.Backend.Read(changesFrom, 0, Bytes(m.hostChanges)); err != nil {
		return err
	}
	m.stats.ReadBytes += nChanges * 16
	for _, c := range m.hostChanges {
		m.hostHits[c.Ray] = Hit{Index: c.Index, T: c.T}
	}
	if m.placeInFlight {
		m.placeInFlight = false
		m.hostActions = resize(m.hostActions, nActions)
		if err := m.Backend.Read(actionsFrom, 0, Bytes(m.hostActions)); err != nil {
			return err
		}
		m.stats.ReadBytes += nActions * 48
		m.decide()
	}
	if m.composeInFlight && m.tap.inFlight {
		if err := m.tapFrame(); err != nil {
			return err
		}
	}
	return m.copyFrame()
}

// Decision is a placement the scheduler should act on, from the last
// collected placement run: move Task to Device (the cheapest where it
// fits), with the named cost terms that chose it.
type Decision struct {
	Task, Device ecs.Entity
	// Terms are the named costs on Device (Terms.Device and Tick unset).
	Terms components.Placement
	// Stay is the cost of the task's current device, or -1 when it has
	// none (or it no longer takes the task).
	Stay float32
}

// decide turns the run's actions into decisions, in task-slot order: a
// GPU appends them in any order, and the scheduler must apply them in the
// same order on every backend.
func (m *Mirror) decide() {
	slices.SortFunc(m.hostActions, func(a, b PlaceAction) int { return int(a.Task) - int(b.Task) })
	m.decisions = m.decisions[:0]
	for _, a := range m.hostActions {
		d := a.Choice.Device
		r := &m.result
		if int(a.Task) >= len(r.choiceTasks) || d == 0 || int(d) > len(r.choiceDevices) {
			continue
		}
		terms := a.Choice
		terms.Device = 0
		m.decisions = append(m.decisions, Decision{Task: r.choiceTasks[a.Task], Device: r.choiceDevices[d-1], Terms: terms, Stay: a.Stay})
	}
}

// Decisions returns the placement decisions of the last collected
// placement run, in task-slot order, and forgets them: each is acted on
// once. A decision whose task or device is gone since, or whose task
// changed slot, is left out.
func (m *Mirror) Decisions() []Decision {
	out := m.decisions[:0]
	for _, d := range m.decisions {
		slot, gen, ok := m.Tasks.Slot(d.Task)
		if !ok || slot >= len(m.result.choiceGens) || m.result.choiceGens[slot] != gen {
			continue
		}
		if _, _, ok := m.Devices.Slot(d.Device); !ok {
			continue
		}
		out = append(out, d)
	}
	m.decisions = m.decisions[:0]
	return out
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// HitOf returns the surface the ray entity hit in the last collected run,
// and the distance. ok is false when there is no current result for the
// ray (it is new, or its slot changed hands since).
func (m *Mirror) HitOf(ray ecs.Entity) (surface ecs.Entity, t float32, hit, ok bool) {
	slot, gen, found := m.Rays.Slot(ray)
	r := &m.result
	if !found || slot >= len(r.hitGens) || slot >= len(m.hostHits) || r.hitGens[slot] != gen {
		return ecs.Entity{}, 0, false, false
	}
	h := m.hostHits[slot]
	if h.Index < 0 || int(h.Index) >= len(r.hitSurfaces) {
		return ecs.Entity{}, 0, false, true
	}
	return r.hitSurfaces[h.Index], h.T, true, true
}

// ReadFrame copies the last composed frame (RGBA, row by row) into dst,
// which must hold FrameWidth × FrameHeight texels. Call after Collect.
func (m *Mirror) ReadFrame(dst []uint32) error {
	if len(dst) != m.cfg.FrameWidth*m.cfg.FrameHeight {
		return fmt.Errorf("gpu: frame of %d texels, want %d", len(dst), m.cfg.FrameWidth*m.cfg.FrameHeight)
	}
	if err := m.Collect(); err != nil {
		return err
	}
	return m.readFrameCollected(dst)
}

// readFrameCollected is ReadFrame with no run in flight.
func (m *Mirror) readFrameCollected(dst []uint32) error {
	// The frame stays on the device; a consumer's read is a copy of its
	// own, recorded once, into a readback buffer made on first use.
	if !m.frameRecorded {
		var err error
		if m.frameBack, err = m.Backend.NewBuffer(m.frame.Size(), RoleReadback); err != nil {
			return err
		}
		if m.frameProgram, err = m.Backend.Record([]Dispatch{{CopyFrom: m.frame, CopyTo: m.frameBack, CopyBytes: m.frame.Size()}}); err != nil {
			return err
		}
		m.frameRecorded = true
	}
	if err := errors.Join(m.Backend.Submit(m.frameProgram), m.Backend.Wait()); err != nil {
		return err
	}
	return m.Backend.Read(m.frameBack, 0, Bytes(dst))
}

// Stats reports what the last Submit moved.
func (m *Mirror) Stats() MirrorStats { return m.stats }

// Verify checks every column against the world (see Column.Verify). It
// waits for the device first.
func (m *Mirror) Verify() error {
	if err := m.Backend.Wait(); err != nil {
		return err
	}
	return errors.Join(m.Surfaces.Verify(), m.Rays.Verify(), m.Tasks.Verify(), m.Devices.Verify())
}

// DefaultMirrorConfig is a 1920×1080 framebuffer on a dark background with
// the scheduler's default cost weights.
var DefaultMirrorConfig = MirrorConfig{
	FrameWidth: 1920, FrameHeight: 1080,
	Background: RGBA(18, 20, 28, 255),
	Weights:    Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1},
}

// Install creates a Mirror of w on b and adds it to w as a resource, where
// the systems find it.
func Install(w *ecs.World, b Backend, cfg MirrorConfig) (*Mirror, error) {
	m, err := NewMirror(w, b, cfg)
	if err != nil {
		return nil, err
	}
	ecs.AddResource(w, m)
	return m, nil
}

// MirrorOf returns the Mirror installed in w, or an error that says how to
// install one; systems call it from Init.
func MirrorOf(w *ecs.World, system string) (*Mirror, error) {
	if m := ecs.GetResource[Mirror](w); m != nil {
		return m, nil
	}
	return nil, fmt.Errorf("%s needs the GPU mirror: install one with gpu.Install before the scheduler", system)
}
