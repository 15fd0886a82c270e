package gpu_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// backends opens both backends. The Vulkan one runs on lavapipe in CI
// (make deps installs mesa-vulkan-drivers); it is not optional.
func backends(t testing.TB) []gpu.Backend {
	t.Helper()
	vk, err := gpu.NewVulkan()
	if err != nil {
		t.Fatalf("Vulkan backend: %v (run `make deps`)", err)
	}
	t.Cleanup(func() { vk.Close() })
	return []gpu.Backend{gpu.NewCPU(), vk}
}

// run uploads the inputs, binds device buffers for the outputs (in that
// order), runs one kernel over them and reads every output back into its
// slice through a readback buffer, as the mirror does.
func run(t testing.TB, b gpu.Backend, kernel string, groups uint32, inputs [][]byte, outputs ...[]byte) {
	t.Helper()
	var slots []slot
	for _, in := range inputs {
		slots = append(slots, slot{data: in})
	}
	for _, out := range outputs {
		slots = append(slots, slot{data: out, role: gpu.RoleDevice, fetch: true})
	}
	runSlots(t, b, kernel, groups, slots...)
}

// slot is one buffer of a kernel run: its bytes, its role, and whether to
// read it back after the run (into the same slice).
type slot struct {
	data  []byte
	role  gpu.Role
	fetch bool
}

// runSlots runs one kernel over buffers made from slots (upload ones hold
// their data; device ones start zeroed) and reads back the ones marked
// fetch, through copy steps: the way the mirror binds state that a kernel
// both reads and writes (hits), compact lists and their counts.
func runSlots(t testing.TB, b gpu.Backend, kernel string, groups uint32, slots ...slot) {
	t.Helper()
	bufs := make([]gpu.Buffer, len(slots))
	for i, s := range slots {
		buf, err := b.NewBuffer(max(16, len(s.data)), s.role)
		if err != nil {
			t.Fatal(err)
		}
		if s.role == gpu.RoleUpload {
			if err := b.Write(buf, 0, s.data); err != nil {
				t.Fatal(err)
			}
		}
		bufs[i] = buf
	}
	p, err := b.Record([]gpu.Dispatch{{Kernel: kernel, Buffers: bufs, Groups: groups}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release(p)
	if err := errors.Join(b.Submit(p), b.Wait()); err != nil {
		t.Fatal(err)
	}
	for i, s := range slots {
		if s.fetch {
			if err := gpu.Fetch(b, bufs[i], 0, s.data); err != nil {
				t.Fatal(err)
			}
		}
		b.Free(bufs[i])
	}
}

// floatTolerance is the relative difference allowed between a float
// result of the Vulkan backend and the CPU twin. The kernels mark their
// arithmetic precise and follow the twins' operation order, so on lavapipe
// results are bit-identical; a GPU may implement division and sqrt to the
// few-ULP accuracy Vulkan allows, which this bound covers.
const floatTolerance = 1e-5

func close32(a, b float32) bool {
	if a == b {
		return true
	}
	return math.Abs(float64(a-b)) <= floatTolerance*math.Max(math.Abs(float64(a)), math.Abs(float64(b)))
}

func unit(r *rand.Rand) components.Vec3 {
	for {
		v := components.Vec3{float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())}
		n := float32(math.Sqrt(float64(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])))
		if n > 1e-3 {
			return components.Vec3{v[0] / n, v[1] / n, v[2] / n}
		}
	}
}

func randomSurfaces(r *rand.Rand, n int) []components.Surface {
	s := make([]components.Surface, n)
	for i := range s {
		s[i] = components.Surface{
			Center: components.Vec3{float32(r.Float64()*6 - 3), float32(r.Float64() * 3), float32(-1 - r.Float64()*5)},
			Right:  components.Vec3{1, 0, 0}, Up: components.Vec3{0, 1, 0},
			HalfWidth: float32(0.1 + r.Float64()), HalfHeight: float32(0.1 + r.Float64()*0.6),
			Layer: uint32(r.IntN(3)), Z: float32(r.IntN(4)),
			Rect: components.Rect{X: int32(r.IntN(400) - 40), Y: int32(r.IntN(260) - 30), W: int32(1 + r.IntN(200)), H: int32(1 + r.IntN(150))},
		}
		if r.IntN(5) > 0 {
			s[i].Flags = components.SurfaceVisible
		}
		if r.IntN(4) == 0 { // tilted quads
			s[i].Right = unit(r)
			u := unit(r)
			// make Up orthogonal to Right
			d := u[0]*s[i].Right[0] + u[1]*s[i].Right[1] + u[2]*s[i].Right[2]
			s[i].Up = components.Vec3{u[0] - d*s[i].Right[0], u[1] - d*s[i].Right[1], u[2] - d*s[i].Right[2]}
		}
		if i > 0 && r.IntN(6) == 0 { // coplanar duplicates: exact ties
			s[i].Center, s[i].Right, s[i].Up = s[i-1].Center, s[i-1].Right, s[i-1].Up
		}
	}
	return s
}

// The hit kernel keeps every ray's result on the device and appends only
// the rays whose result changed: with a prior state where some results are
// already right and some are not, the kernel and the twin agree on the new
// state and on the set of changes.
func TestHitKernelMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 5; round++ {
		surfaces := randomSurfaces(r, 20+r.IntN(60))
		rays := randomRays(r, 1+r.IntN(3000))
		params := []gpu.HitParams{{RayCount: uint32(len(rays)), SurfaceCount: uint32(len(surfaces))}}
		// The prior state: last run's results for a random half, stale or
		// zero (a new buffer) for the rest.
		prior := priorHits(r, rays, surfaces)
		want := slices.Clone(prior)
		wantChanges := make([]gpu.HitChange, len(rays))
		wantChanges = wantChanges[:gpu.HitTest(rays, surfaces, want, wantChanges)]
		hits := 0
		for _, h := range want {
			if h.Index >= 0 {
				hits++
			}
		}
		if hits < len(rays)/20 || len(wantChanges) == 0 || len(wantChanges) == len(rays) {
			t.Fatalf("round %d: %d of %d rays hit, %d changed: inputs do not test the change list", round, hits, len(rays), len(wantChanges))
		}
		// Odd rounds test only the rays marked changed (no surface changed).
		dirty := make([]uint32, (len(rays)+31)/32)
		if round%2 == 1 {
			params[0].DirtyOnly = 1
			for i := range dirty {
				dirty[i] = r.Uint32() & r.Uint32()
			}
			want = slices.Clone(prior)
			wantChanges = wantChanges[:cap(wantChanges)]
			wantChanges = wantChanges[:gpu.HitTestDirty(rays, surfaces, want, dirty, wantChanges)]
			if len(wantChanges) == 0 {
				t.Fatalf("round %d: no marked ray changed: the dirty-only run tests nothing", round)
			}
		}
		for _, b := range backends(t) {
			got := slices.Clone(prior)
			changes := make([]gpu.HitChange, len(rays))
			count := []uint32{0}
			runSlots(t, b, "hit", gpu.GroupsFor(len(rays)),
				slot{data: gpu.Bytes(params)}, slot{data: gpu.Bytes(rays)}, slot{data: gpu.Bytes(surfaces)},
				slot{data: gpu.Bytes(got), fetch: true}, slot{data: gpu.Bytes(dirty)},
				slot{data: gpu.Bytes(changes), role: gpu.RoleDevice, fetch: true}, slot{data: gpu.Bytes(count), fetch: true})
			name := b.Info().Backend
			bad := 0
			for i := range want {
				if got[i].Index != want[i].Index || !close32(got[i].T, want[i].T) {
					if bad++; bad <= 5 {
						t.Errorf("%s round %d ray %d: got %+v, twin %+v", name, round, i, got[i], want[i])
					}
				}
			}
			// A GPU appends in any order.
			changes = changes[:count[0]]
			slices.SortFunc(changes, func(a, b gpu.HitChange) int { return int(a.Ray) - int(b.Ray) })
			if len(changes) != len(wantChanges) {
				t.Errorf("%s round %d: %d changes, twin %d", name, round, len(changes), len(wantChanges))
				continue
			}
			for i := range changes {
				if c, w := changes[i], wantChanges[i]; c.Ray != w.Ray || c.Index != w.Index || !close32(c.T, w.T) {
					t.Errorf("%s round %d change %d: %+v, twin %+v", name, round, i, c, w)
					break
				}
			}
		}
	}
}

// The place kernel evaluates what has something to decide and appends
// only the decisions to act on; kernel and twin agree on the set of them
// and every term, in both modes, and pruned by device clusters or not.
func TestPlaceKernelMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w := gpu.Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1}
	for round := 0; round < 8; round++ {
		// Rounds 6 and 7 prune with device clusters, over enough devices to
		// have some; the twin they must match evaluates every device.
		clustered := round >= 6
		devices := make([]components.Device, 1+r.IntN(32))
		if clustered {
			devices = make([]components.Device, 100+r.IntN(200))
		}
		for i := range devices {
			devices[i] = components.Device{
				Position: components.Vec3{float32(r.Float64()*20 - 10), float32(r.Float64() * 4), float32(-r.Float64() * 20)},
				Capacity: float32(10 + r.IntN(200)), Load: float32(r.IntN(100)), Temperature: float32(30 + r.IntN(60)),
				EnergyCost: float32(r.Float64() * 2), Kind: uint32(r.IntN(3)),
				// Slots over 64 too: a masked task may use none of those.
				Slot: uint32(r.IntN(80)),
			}
			devices[i].Load = min(devices[i].Load, devices[i].Capacity)
		}
		tasks := make([]components.ComputeTask, 1+r.IntN(4000))
		current := make([]uint32, len(tasks))
		for i := range tasks {
			tasks[i] = components.ComputeTask{
				Affinity: components.Vec3{float32(r.Float64()*20 - 10), float32(r.Float64() * 4), float32(-r.Float64() * 20)},
				Demand:   float32(1 + r.IntN(30)), Priority: float32(r.IntN(4)),
			}
			if r.IntN(5) == 0 {
				tasks[i].Class = uint32(1 + r.IntN(7))
			}
			if r.IntN(3) == 0 { // an Allow mask: a few slots of both words
				for range 1 + r.IntN(8) {
					if s := r.IntN(64); s < 32 {
						tasks[i].AllowLo |= 1 << s
					} else {
						tasks[i].AllowHi |= 1 << (s - 32)
					}
				}
			}
			switch r.IntN(6) {
			case 0, 1, 2:
				current[i] = uint32(r.IntN(len(devices) + 1))
			case 3:
				current[i] = gpu.Waiting
			}
		}
		// Even rounds evaluate unplaced tasks only; odd ones a rebalance
		// window of a third of the placed ones too. Waiting tasks: a
		// window of a quarter, none in round 2.
		params := []gpu.PlaceParams{{TaskCount: uint32(len(tasks)), DeviceCount: uint32(len(devices)), Weights: w, Gain: 0.9,
			RebalanceStride: uint32(round%2) * 3, RebalancePhase: uint32(round % 3), FitLimit: gpu.FitLimits(devices),
			WaitStride: 4, WaitPhase: uint32(round % 4)}}
		if round == 2 {
			params[0].WaitStride = 0
		}
		want := make([]gpu.PlaceAction, len(tasks))
		want = want[:gpu.PlaceTasks(&params[0], tasks, devices, current, want)]
		clusters, order := []gpu.Cluster{{}}, []uint32{0}
		if clustered {
			clusters, order = gpu.BuildClusters(devices, nil, nil)
			params[0].ClusterCount = uint32(len(clusters))
		}
		if len(want) < len(tasks)/20 {
			t.Fatalf("round %d: only %d of %d tasks have a decision: inputs too sparse", round, len(want), len(tasks))
		}
		for _, b := range backends(t) {
			got := make([]gpu.PlaceAction, len(tasks))
			count := []uint32{0}
			runSlots(t, b, "place", gpu.GroupsFor(len(tasks)),
				slot{data: gpu.Bytes(params)}, slot{data: gpu.Bytes(tasks)}, slot{data: gpu.Bytes(devices)}, slot{data: gpu.Bytes(current)},
				slot{data: gpu.Bytes(clusters)}, slot{data: gpu.Bytes(order)},
				slot{data: gpu.Bytes(got), role: gpu.RoleDevice, fetch: true}, slot{data: gpu.Bytes(count), fetch: true})
			got = got[:count[0]]
			slices.SortFunc(got, func(a, b gpu.PlaceAction) int { return int(a.Task) - int(b.Task) })
			name := b.Info().Backend
			if len(got) != len(want) {
				t.Errorf("%s round %d: %d decisions, twin %d", name, round, len(got), len(want))
				continue
			}
			bad := 0
			for i := range want {
				g, x := got[i], want[i]
				same := g.Task == x.Task && g.Choice.Device == x.Choice.Device && close32(g.Stay, x.Stay) && close32(g.Choice.Cost, x.Choice.Cost) &&
					close32(g.Choice.Locality, x.Choice.Locality) && close32(g.Choice.Load, x.Choice.Load) && close32(g.Choice.Thermal, x.Choice.Thermal) &&
					close32(g.Choice.Energy, x.Choice.Energy) && close32(g.Choice.Priority, x.Choice.Priority)
				if !same {
					if bad++; bad <= 5 {
						t.Errorf("%s round %d decision %d: got %+v, twin %+v", name, round, i, g, x)
					}
				}
			}
		}
	}
}

// The early-out on the largest free capacity per kind never skips an
// unplaced task that the per-device test would fit: PlaceTasks with it
// decides exactly what a full evaluation decides.
func TestFitLimitNeverSkipsATaskThatFits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	w := gpu.Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1}
	skipped := 0
	for round := 0; round < 200; round++ {
		devices := make([]components.Device, 1+r.IntN(8))
		for i := range devices {
			capacity := float32(1 + r.IntN(300))
			devices[i] = components.Device{Capacity: capacity, Load: capacity * float32(r.Float64()), Kind: uint32(r.IntN(3))}
		}
		limit := gpu.FitLimits(devices)
		for range 200 {
			task := components.ComputeTask{Demand: float32(r.Float64() * 120), Class: uint32(r.IntN(8))}
			fits := false
			for i := range devices {
				if _, ok := gpu.PlacementTerms(w, &task, &devices[i], devices[i].Load); ok {
					fits = true
				}
			}
			p := gpu.PlaceParams{TaskCount: 1, DeviceCount: uint32(len(devices)), Weights: w, FitLimit: limit}
			decided := gpu.PlaceTasks(&p, []components.ComputeTask{task}, devices, []uint32{0}, make([]gpu.PlaceAction, 1)) == 1
			if fits != decided {
				t.Fatalf("task %+v on %+v: fits %t, decided %t (limits %v)", task, devices, fits, decided, limit)
			}
			if !fits {
				skipped++
			}
		}
	}
	if skipped == 0 {
		t.Error("no task was too big: the test did not exercise the early-out")
	}
}

// composeScene is one compose kernel run: random surfaces (some
// decorated with a border, a title bar and maybe a focus highlight; some
// textures opaque, so that bins are cut under them), in a random order,
// over a random set of damaged tiles (or all of them), binned.
type composeScene struct {
	p        gpu.ComposeParams
	surfaces []components.Surface
	order    []uint32
	textures []gpu.Texture
	decor    []gpu.Decor
	texels   []uint32
	damage   []uint64
	bins     gpu.Bins
}

func randomCompose(r *rand.Rand, width, height, surfaces int, damageAll bool) *composeScene {
	c := &composeScene{surfaces: randomSurfaces(r, surfaces)}
	for i := range c.surfaces {
		c.surfaces[i].Rect = components.Rect{X: int32(r.IntN(width+40) - 20), Y: int32(r.IntN(height+40) - 20), W: int32(1 + r.IntN(width/2)), H: int32(1 + r.IntN(height/2))}
		if r.IntN(4) == 0 { // a few cover much of the frame: cuts happen
			c.surfaces[i].Rect = components.Rect{X: int32(r.IntN(20) - 10), Y: int32(r.IntN(20) - 10), W: int32(width), H: int32(height)}
		}
	}
	for i := range c.surfaces {
		if c.surfaces[i].Flags&components.SurfaceVisible != 0 {
			c.order = append(c.order, uint32(i))
		}
	}
	r.Shuffle(len(c.order), func(i, j int) { c.order[i], c.order[j] = c.order[j], c.order[i] })
	add := func(w, h uint32, opaque bool) uint32 {
		at := uint32(len(c.texels))
		for range w * h {
			t := r.Uint32()
			if opaque {
				t |= 0xff000000
			}
			c.texels = append(c.texels, t)
		}
		return at
	}
	c.textures = make([]gpu.Texture, len(c.surfaces))
	c.decor = make([]gpu.Decor, len(c.surfaces))
	for i := range c.textures {
		tw, th := uint32(1+r.IntN(64)), uint32(1+r.IntN(64))
		if r.IntN(10) == 0 {
			tw = 0 // no content: skipped undecorated, "no signal" decorated
		}
		opaque := r.IntN(3) == 0
		c.textures[i] = gpu.Texture{Offset: add(tw, th, opaque), Width: tw, Height: th}
		if opaque {
			c.textures[i].Flags = gpu.TextureOpaque
		}
		if r.IntN(2) == 0 {
			rect := c.surfaces[i].Rect
			d := gpu.Decor{Frame: r.Uint32(), Border: uint32(1 + r.IntN(4)), TitleHeight: uint32(r.IntN(20))}
			if r.IntN(3) == 0 {
				d.Highlight = r.Uint32()
			}
			if r.IntN(2) == 0 {
				d.Flags = gpu.DecorOpaqueContent
			}
			if tw := max(int(rect.W)-2*int(d.Border), 0); tw > 0 && d.TitleHeight > 0 {
				d.TitleWidth, d.TitleRows = uint32(1+r.IntN(tw)), uint32(1+r.IntN(int(d.TitleHeight)+3))
				d.TitleOffset = add(d.TitleWidth, d.TitleRows, false)
			}
			c.decor[i] = d
		}
	}
	c.texels = append(c.texels, 0)
	tilesX, tilesY := gpu.TilesFor(width, height)
	c.damage = make([]uint64, (tilesX*tilesY+63)/64)
	for t := range tilesX * tilesY {
		if damageAll || r.IntN(3) == 0 {
			c.damage[t/64] |= 1 << (t % 64)
		}
	}
	gpu.BinTiles(&c.bins, width, height, c.damage, c.surfaces, c.order, c.textures, c.decor)
	c.p = gpu.ComposeParams{Width: uint32(width), Height: uint32(height), TilesX: uint32(tilesX), TileCount: uint32(len(c.bins.Tiles)),
		Background: gpu.RGBA(16, 24, 32, 255), Tap: 1}
	return c
}

// inputs are the kernel's bindings before its two outputs (frame, tap).
func (c *composeScene) inputs() [][]byte {
	return [][]byte{gpu.Bytes([]gpu.ComposeParams{c.p}), gpu.Bytes(c.surfaces), gpu.Bytes(c.textures), gpu.Bytes(c.decor), gpu.Bytes(c.texels),
		gpu.Bytes(append(c.bins.Tiles, 0)), gpu.Bytes(c.bins.Start), gpu.Bytes(append(c.bins.Slots, 0))}
}

// twin composes with the CPU twin into a zeroed frame (pixels outside the
// damaged tiles stay 0, as in a new device buffer) and returns the frame
// and the tap.
func (c *composeScene) twin() (frame, tap []uint32) {
	frame = make([]uint32, c.p.Width*c.p.Height)
	tap = make([]uint32, max(1, len(c.bins.Tiles))*gpu.TileSize*gpu.TileSize)
	gpu.ComposeTiles(c.p, c.surfaces, c.textures, c.decor, c.texels, c.bins.Tiles, c.bins.Start, c.bins.Slots, frame, tap, 0, len(c.bins.Tiles))
	return frame, tap
}

func TestComposeKernelMatchesTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 6; round++ {
		width, height := 64+r.IntN(400), 48+r.IntN(300)
		c := randomCompose(r, width, height, 1+r.IntN(16), round%2 == 0)
		want, wantTap := c.twin()
		for _, b := range backends(t) {
			got, gotTap := make([]uint32, len(want)), make([]uint32, len(wantTap))
			run(t, b, "compose", gpu.GroupsFor(int(c.p.TileCount)*gpu.TileSize*gpu.TileSize), c.inputs(), gpu.Bytes(got), gpu.Bytes(gotTap))
			bad := 0
			for i := range want {
				if got[i] != want[i] {
					if bad++; bad <= 5 {
						t.Errorf("%s round %d pixel (%d,%d): got %08x, twin %08x", b.Info().Backend, round, i%width, i/width, got[i], want[i])
					}
				}
			}
			if !slices.Equal(gotTap, wantTap) {
				t.Errorf("%s round %d: the tap differs from the twin's", b.Info().Backend, round)
			}
		}
	}
}

// fullCompose is a compose run of width × height with no surface and
// every tile damaged: the frame comes out as the background.
func fullCompose(width, height int, background uint32) *composeScene {
	c := &composeScene{surfaces: make([]components.Surface, 1), textures: make([]gpu.Texture, 1), decor: make([]gpu.Decor, 1), texels: []uint32{0}}
	tilesX, tilesY := gpu.TilesFor(width, height)
	c.damage = make([]uint64, (tilesX*tilesY+63)/64)
	for t := range tilesX * tilesY {
		c.damage[t/64] |= 1 << (t % 64)
	}
	gpu.BinTiles(&c.bins, width, height, c.damage, c.surfaces, c.order, c.textures, c.decor)
	c.p = gpu.ComposeParams{Width: uint32(width), Height: uint32(height), TilesX: uint32(tilesX), TileCount: uint32(len(c.bins.Tiles)), Background: background}
	return c
}

// More elements than MaxGroups × LocalSize invocations: only the kernels'
// grid-stride loops reach the tail.
func TestGridStrideCoversMoreThanMaxGroups(t *testing.T) {
	width, height := 4200, 1000 // 16,569 tiles of 256 pixels > 65535 × 64
	c := fullCompose(width, height, gpu.RGBA(1, 2, 3, 255))
	if gpu.GroupsFor(int(c.p.TileCount)*gpu.TileSize*gpu.TileSize) != gpu.MaxGroups {
		t.Fatal("test size does not exceed the workgroup cap")
	}
	for _, b := range backends(t) {
		got := make([]uint32, width*height)
		run(t, b, "compose", gpu.MaxGroups, c.inputs(), gpu.Bytes(got), make([]byte, 16))
		if got[len(got)-1] != c.p.Background || got[0] != c.p.Background {
			t.Errorf("%s: last pixel %08x, want %08x", b.Info().Backend, got[len(got)-1], c.p.Background)
		}
	}
}

func TestBlend(t *testing.T) {
	dst := gpu.RGBA(200, 100, 0, 255)
	if got := gpu.Blend(gpu.RGBA(10, 20, 30, 0), dst); got != dst {
		t.Errorf("transparent over %08x = %08x", dst, got)
	}
	if got := gpu.Blend(gpu.RGBA(10, 20, 30, 255), dst); got != gpu.RGBA(10, 20, 30, 255) {
		t.Errorf("opaque = %08x", got)
	}
	if got := gpu.Blend(gpu.RGBA(0, 0, 0, 128), gpu.RGBA(255, 255, 255, 255)); got != gpu.RGBA(127, 127, 127, 255) {
		t.Errorf("half black over white = %08x", got)
	}
}

// randomRays are gaze rays from about head height, a quarter in any
// direction, the rest looking ahead at where the surfaces are; weights 0,
// 0.5 or 1.
func randomRays(r *rand.Rand, n int) []components.AttentionRay {
	rays := make([]components.AttentionRay, n)
	for i := range rays {
		rays[i] = components.AttentionRay{Origin: components.Vec3{float32(r.NormFloat64() * 0.3), 1.6, 0}, Direction: unit(r), Weight: float32(r.IntN(3)) / 2}
		if r.IntN(4) > 0 {
			d := components.Vec3{float32(r.NormFloat64() * 0.5), float32(r.NormFloat64() * 0.3), -1}
			n := float32(math.Sqrt(float64(d[0]*d[0] + d[1]*d[1] + 1)))
			rays[i].Direction = components.Vec3{d[0] / n, d[1] / n, d[2] / n}
		}
	}
	return rays
}

// priorHits is a hit kernel's state before a run: the true results for
// half the rays, stale ones (another surface) or zero (a new buffer) for
// the rest.
func priorHits(r *rand.Rand, rays []components.AttentionRay, surfaces []components.Surface) []gpu.Hit {
	prior := make([]gpu.Hit, len(rays))
	gpu.HitTest(rays, surfaces, prior, make([]gpu.HitChange, len(rays)))
	for i := range prior {
		switch r.IntN(4) {
		case 0:
			prior[i] = gpu.Hit{}
		case 1:
			prior[i].Index++
		}
	}
	return prior
}
