package gpu_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// kcase is one kernel step with its buffers' contents before the run and,
// from the serial twin, after it.
type kcase struct {
	name   string
	kernel string
	data   [][]byte   // each binding before the run
	roles  []gpu.Role // each binding's role
	want   [][]byte   // each binding after the twin; nil: not compared
	item   int        // an appending kernel's entry size (list: the binding before the last, count: the last)
	state  []int      // the upload bindings a run changes: the prior hits, counts
}

// hitCase is nRays rays against nSurfaces surfaces with a prior state that
// is partly right, so that some rays change and some do not. The count
// starts at at; the list has room for every ray after it when room is
// set, and exactly nRays entries otherwise.
func hitCase(r *rand.Rand, nRays, nSurfaces, at int, room bool) kcase {
	surfaces := randomSurfaces(r, nSurfaces)
	rays := randomRays(r, nRays)
	prior := priorHits(r, rays, surfaces)
	listLen := nRays
	if room {
		listLen += at
	}
	params := []gpu.HitParams{{RayCount: uint32(nRays), SurfaceCount: uint32(nSurfaces)}}
	hits := slices.Clone(prior)
	changes := make([]gpu.HitChange, listLen)
	count := []uint32{uint32(at)}
	// Every other case tests only the rays marked changed, as the mirror
	// does when no surface changed: three in four marked, so that the
	// large cases stay above the pool's threshold.
	dirty := make([]uint32, (nRays+31)/32+1)
	if r.IntN(2) == 0 {
		params[0].DirtyOnly = 1
		for i := range dirty {
			dirty[i] = r.Uint32() | r.Uint32()
		}
		count[0] += uint32(gpu.HitTestDirty(rays, surfaces, hits, dirty, changes[at:]))
	} else {
		count[0] += uint32(gpu.HitTest(rays, surfaces, hits, changes[at:]))
	}
	return kcase{
		name: fmt.Sprintf("hit/%d×%d/at=%d/room=%t", nRays, nSurfaces, at, room), kernel: "hit",
		data:  [][]byte{gpu.Bytes(params), gpu.Bytes(rays), gpu.Bytes(surfaces), gpu.Bytes(prior), gpu.Bytes(dirty), make([]byte, listLen*16), gpu.Bytes([]uint32{uint32(at)})},
		roles: []gpu.Role{gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleDevice, gpu.RoleUpload},
		want:  [][]byte{nil, nil, nil, gpu.Bytes(hits), nil, gpu.Bytes(changes), gpu.Bytes(count)},
		item:  int(unsafe.Sizeof(gpu.HitChange{})),
		state: []int{3, 6},
	}
}

// Placement inputs, in four modes:
//   - mixed: the parity test's world (random capacities and classes, half
//     the tasks placed, a sixth waiting, a rebalance window of a third, a
//     wait window of a quarter);
//   - unplaced: every task unplaced and fitting somewhere, so every task
//     is evaluated against every device and appends a decision (the worst
//     case of the stress world's first tick);
//   - rolling: every task placed, a rebalance window of 1/60 (a steady
//     tick of the stress world);
//   - clustered: unplaced tasks near hosts of 16 devices, pruned with
//     device clusters (the datacenter world's first tick); the twin's
//     result it must match is that of evaluating every device.
func placeCase(r *rand.Rand, nTasks, nDevices int, mode string) kcase {
	w := gpu.Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1}
	devices := make([]components.Device, nDevices)
	for i := range devices {
		devices[i] = components.Device{
			Position: components.Vec3{float32(r.Float64()*20 - 10), float32(r.Float64() * 4), float32(-r.Float64() * 20)},
			Capacity: float32(10 + r.IntN(200)), Load: float32(r.IntN(100)), Temperature: float32(30 + r.IntN(60)),
			EnergyCost: float32(r.Float64() * 2), Kind: uint32(r.IntN(3)),
		}
		if mode != "mixed" {
			devices[i].Capacity = float32(1e6 + r.IntN(1e6))
		}
		if mode == "clustered" {
			devices[i].Position = hostPosition(i)
		}
		devices[i].Load = min(devices[i].Load, devices[i].Capacity)
	}
	tasks := make([]components.ComputeTask, nTasks)
	current := make([]uint32, nTasks)
	for i := range tasks {
		tasks[i] = components.ComputeTask{
			Affinity: components.Vec3{float32(r.Float64()*20 - 10), float32(r.Float64() * 4), float32(-r.Float64() * 20)},
			Demand:   float32(1 + r.IntN(30)), Priority: float32(r.IntN(4)),
		}
		switch mode {
		case "mixed":
			if r.IntN(5) == 0 {
				tasks[i].Class = uint32(1 + r.IntN(7))
			}
			switch r.IntN(6) {
			case 0, 1, 2:
				current[i] = uint32(r.IntN(nDevices + 1))
			case 3:
				current[i] = gpu.Waiting
			}
		case "rolling":
			current[i] = uint32(1 + r.IntN(nDevices))
		case "clustered":
			tasks[i].Affinity = hostPosition(16 * r.IntN(max(1, nDevices/16)))
			tasks[i].Affinity[0] += float32(r.NormFloat64())
			tasks[i].Affinity[2] += float32(r.NormFloat64())
		}
	}
	params := []gpu.PlaceParams{{TaskCount: uint32(nTasks), DeviceCount: uint32(nDevices), Weights: w, Gain: 0.9, FitLimit: gpu.FitLimits(devices)}}
	switch mode {
	case "mixed":
		params[0].RebalanceStride, params[0].RebalancePhase = 3, uint32(r.IntN(3))
		params[0].WaitStride, params[0].WaitPhase = 4, uint32(r.IntN(4))
	case "rolling":
		params[0].RebalanceStride, params[0].RebalancePhase = 60, uint32(r.IntN(60))
	}
	actions := make([]gpu.PlaceAction, nTasks)
	count := []uint32{uint32(gpu.PlaceTasks(&params[0], tasks, devices, current, actions))}
	clusters, order := []gpu.Cluster{{}}, []uint32{0}
	if mode == "clustered" {
		clusters, order = gpu.BuildClusters(devices, nil, nil)
		params[0].ClusterCount = uint32(len(clusters))
	}
	return kcase{
		name: fmt.Sprintf("place/%s/%d×%d", mode, nTasks, nDevices), kernel: "place",
		data: [][]byte{gpu.Bytes(params), gpu.Bytes(tasks), gpu.Bytes(devices), gpu.Bytes(current), gpu.Bytes(clusters), gpu.Bytes(order),
			make([]byte, nTasks*48), make([]byte, 4)},
		roles: []gpu.Role{gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleUpload, gpu.RoleDevice, gpu.RoleUpload},
		want:  [][]byte{nil, nil, nil, nil, nil, nil, gpu.Bytes(actions), gpu.Bytes(count)},
		item:  int(unsafe.Sizeof(gpu.PlaceAction{})),
		state: []int{7},
	}
}

// hostPosition places device i in hosts of 16 devices a few centimetres
// apart, the hosts on a grid with a 6 m pitch, each host shifted by up to
// 1 m (the same for all its devices).
func hostPosition(i int) components.Vec3 {
	host := i / 16
	jx, jz := float32(host*37%21)/10-1, float32(host*53%21)/10-1
	return components.Vec3{float32(6*(host%8)) + jx + 0.15*float32(i%4), 0.15 * float32(i%16/4), -float32(6*(host/8)) + jz}
}

func composeCase(r *rand.Rand, width, height, surfaces int) kcase {
	c := randomCompose(r, width, height, surfaces, r.IntN(2) == 0)
	frame, tap := c.twin()
	in := c.inputs()
	roles := make([]gpu.Role, len(in))
	want := make([][]byte, len(in))
	return kcase{
		name: fmt.Sprintf("compose/%dx%d/%d", width, height, surfaces), kernel: "compose",
		data:  append(in, make([]byte, len(frame)*4), make([]byte, len(tap)*4)),
		roles: append(roles, gpu.RoleDevice, gpu.RoleDevice),
		want:  append(want, gpu.Bytes(frame), gpu.Bytes(tap)),
	}
}

// rig is kernel cases on one backend: their buffers and one program that
// runs every case's kernel (one batch: independent steps), then copies
// every compared buffer into a readback buffer, as the mirror's program
// does.
type rig struct {
	b     gpu.Backend
	cases []kcase
	bufs  [][]gpu.Buffer
	backs [][]gpu.Buffer
	got   [][][]byte
	prog  gpu.Program
}

func newRig(t testing.TB, b gpu.Backend, cases ...kcase) *rig {
	t.Helper()
	rg := &rig{b: b, cases: cases}
	var steps, copies []gpu.Dispatch
	for _, c := range cases {
		bufs := make([]gpu.Buffer, len(c.data))
		backs := make([]gpu.Buffer, len(c.data))
		got := make([][]byte, len(c.data))
		for i, d := range c.data {
			var err error
			if bufs[i], err = b.NewBuffer(max(16, len(d)), c.roles[i]); err != nil {
				t.Fatal(err)
			}
			if c.want[i] != nil {
				if backs[i], err = b.NewBuffer(bufs[i].Size(), gpu.RoleReadback); err != nil {
					t.Fatal(err)
				}
				copies = append(copies, gpu.Dispatch{CopyFrom: bufs[i], CopyTo: backs[i], CopyBytes: bufs[i].Size()})
				got[i] = make([]byte, len(c.want[i]))
			}
		}
		steps = append(steps, gpu.Dispatch{Kernel: c.kernel, Buffers: bufs, Groups: 1})
		rg.bufs, rg.backs, rg.got = append(rg.bufs, bufs), append(rg.backs, backs), append(rg.got, got)
	}
	var err error
	if rg.prog, err = b.Record(append(steps, copies...)); err != nil {
		t.Fatal(err)
	}
	return rg
}

// load writes every case's upload buffers: inputs, the prior state, the
// counts. Device buffers keep what the last run left (as on a GPU).
func (rg *rig) load(t testing.TB) {
	for i, c := range rg.cases {
		for j, d := range c.data {
			if c.roles[j] == gpu.RoleUpload {
				rg.write(t, i, j, d)
			}
		}
	}
}

// reset writes back only what a run changes (the prior hits, the counts),
// as a steady tick of the mirror uploads nothing else.
func (rg *rig) reset(t testing.TB) {
	for i, c := range rg.cases {
		for _, j := range c.state {
			rg.write(t, i, j, c.data[j])
		}
	}
}

func (rg *rig) write(t testing.TB, i, j int, d []byte) {
	if err := rg.b.Write(rg.bufs[i][j], 0, d); err != nil {
		t.Fatal(err)
	}
}

func (rg *rig) submit(t testing.TB) {
	if err := errors.Join(rg.b.Submit(rg.prog), rg.b.Wait()); err != nil {
		t.Fatal(err)
	}
}

// check reads every compared buffer back and compares it with the twin's,
// byte for byte: state and frames whole, an appending kernel's count, then
// its list up to the count (entries past it are scratch, as on a GPU).
func (rg *rig) check(t testing.TB, label string) {
	t.Helper()
	for i, c := range rg.cases {
		for j, want := range c.want {
			if want == nil {
				continue
			}
			got := rg.got[i][j]
			if err := rg.b.Read(rg.backs[i][j], 0, got); err != nil {
				t.Fatal(err)
			}
			if last := len(c.want) - 1; c.item > 0 && j == last-1 {
				n := int(*(*uint32)(unsafe.Pointer(&c.want[last][0])))
				got, want = got[:n*c.item], want[:n*c.item]
			}
			if !bytes.Equal(got, want) {
				at := 0
				for at < len(got) && got[at] == want[at] {
					at++
				}
				t.Errorf("%s, %s: binding %d differs from the serial twin first at byte %d of %d", label, c.name, j, at, len(want))
			}
		}
	}
}

// The pooled CPU backend computes what the serial twins compute, bit for
// bit — the appending kernels' lists in the same order with the same
// counts — at sizes below the threshold (one chunk: the twin) and above
// it (many chunks), one kernel at a time and all three in one batch, on
// this machine's thread count and on more threads than cores.
func TestPooledCPUMatchesSerialTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := range 3 {
		small := []kcase{
			hitCase(r, 50+r.IntN(100), 8+r.IntN(16), 0, true),
			placeCase(r, 100+r.IntN(200), 4+r.IntN(8), "mixed"),
			composeCase(r, 24+r.IntN(16), 16+r.IntN(16), 1+r.IntN(3)),
		}
		at := 1 + r.IntN(40)
		large := []kcase{
			hitCase(r, 2000+r.IntN(2000), 48+r.IntN(64), 0, true),
			hitCase(r, 2000+r.IntN(2000), 48+r.IntN(64), at, true),  // appending after entries already there
			hitCase(r, 2000+r.IntN(2000), 48+r.IntN(64), at, false), // no room to split: one chunk
			placeCase(r, 3000+r.IntN(3000), 24+r.IntN(16), "mixed"),
			placeCase(r, 10000+r.IntN(10000), 64, "unplaced"),
			placeCase(r, 10000+r.IntN(10000), 64, "rolling"),
			placeCase(r, 10000+r.IntN(10000), 256+r.IntN(256), "clustered"),
			composeCase(r, 500+r.IntN(300), 300+r.IntN(200), 12+r.IntN(8)),
			composeCase(r, 301+r.IntN(100), 701+r.IntN(100), 40), // rows that divide unevenly
		}
		for _, c := range append(small, large...) {
			if last := len(c.want) - 1; c.kernel != "compose" && bytes.Equal(c.want[last], c.data[last]) {
				t.Fatalf("%s: the twin appended nothing; inputs do not test the list", c.name)
			}
		}
		for _, threads := range []int{0, 5} {
			b := gpu.NewCPU()
			if threads > 0 {
				b = gpu.NewCPUWorkers(threads)
			}
			label := fmt.Sprintf("round %d, %d workers", round, gpu.PoolWorkers(b))
			for _, set := range [][]kcase{small, large} {
				for i, c := range set {
					rg := newRig(t, b, c)
					for run := range 2 { // the second run starts from the first's device buffers
						rg.load(t)
						rg.submit(t)
						rg.check(t, fmt.Sprintf("%s run %d", label, run))
					}
					chunks := gpu.LastBatchChunks(b)
					split := gpu.PoolWorkers(b) > 0 && len(set) == len(large) && i != 2
					if !split && chunks != 1 || split && chunks < 2 {
						t.Errorf("%s, %s: %d chunks (below the threshold, or with no room to split, want 1; above it, more)", label, c.name, chunks)
					}
				}
				// All in one batch: the kernels' chunks run side by side.
				rg := newRig(t, b, set...)
				rg.load(t)
				rg.submit(t)
				rg.check(t, label+", one batch")
			}
			b.Close()
		}
	}
}

// A tick on the pooled backend starts no goroutine and allocates nothing:
// the workers started with the backend, the batch's storage is reused.
func TestPooledSubmitStartsNoGoroutineAndDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	b := gpu.NewCPUWorkers(4)
	if gpu.LiveWorkers(b) != 3 {
		t.Fatalf("%d workers running, want 3", gpu.LiveWorkers(b))
	}
	rg := newRig(t, b, hitCase(r, 3000, 64, 0, true), placeCase(r, 8000, 32, "unplaced"), composeCase(r, 320, 240, 8))
	rg.load(t)
	rg.submit(t)
	started := gpu.WorkersStarted()
	if allocs := testing.AllocsPerRun(100, func() { rg.load(t); rg.submit(t) }); allocs != 0 && !raceDetector() {
		t.Errorf("a pooled submit allocates %v times", allocs)
	}
	if gpu.LastBatchChunks(b) < 2 {
		t.Fatal("the batch ran serially: the test does not exercise the pool")
	}
	// AllocsPerRun runs on one P; the workers really run beside the
	// caller on all of them. Blocking on a channel or a WaitGroup takes a
	// runtime sudog from a per-P cache; a goroutine woken on another P
	// gives it back there, so the caches fill up only after a few hundred
	// hand-offs, and every GC empties the central one. Those are the
	// runtime's allocations, once per GC cycle, not the pool's: the count
	// starts after a GC and enough submits to refill the caches (a world
	// whose tick does not allocate has no GC cycles), and starts over if
	// the runtime forced a GC during it. A small batch, still parallel,
	// keeps it quick.
	small := newRig(t, b, hitCase(r, 1000, 64, 0, true))
	small.load(t)
	for try := 0; ; try++ {
		runtime.GC()
		for range 500 {
			small.reset(t)
			small.submit(t)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 200 {
			small.reset(t)
			small.submit(t)
		}
		runtime.ReadMemStats(&after)
		if after.NumGC != before.NumGC && try < 3 {
			continue
		}
		if n := after.Mallocs - before.Mallocs; n != 0 && !raceDetector() {
			t.Errorf("200 pooled submits on %d Ps allocated %d times", runtime.GOMAXPROCS(0), n)
		}
		if gpu.LastBatchChunks(b) < 2 {
			t.Fatal("the small batch ran serially: the count does not exercise the pool")
		}
		break
	}
	small.check(t, "small batch")
	if n := gpu.WorkersStarted() - started; n != 0 {
		t.Errorf("%d worker goroutines started by the submits", n)
	}
	if gpu.LiveWorkers(b) != 3 {
		t.Errorf("%d workers running after the submits, want 3", gpu.LiveWorkers(b))
	}
	rg.check(t, "after the submits")
	b.Close()
	if gpu.LiveWorkers(b) != 0 {
		t.Errorf("%d workers running after Close", gpu.LiveWorkers(b))
	}
}

// raceDetector reports whether the test binary was built with -race. Under
// it the runtime's sudog caches (see the allocation test) did not settle
// within the warm-up — a few sudogs in 200 submits, measured — so the
// allocation counts are asserted without it only; the submits still run
// under it, for the race check of the pool.
func raceDetector() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// A kernel that reads past its buffers panics in Submit, on the caller, as
// the serial twin does — even when a worker ran the failing chunk — and
// the backend keeps working.
func TestPooledKernelPanicReachesTheCaller(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	b := gpu.NewCPUWorkers(4)
	defer b.Close()
	bad := composeCase(r, 640, 360, 16)
	bad.data[4] = bad.data[4][:16] // texels cut short: most bands index past them
	bad.want[5] = nil
	rg := newRig(t, b, bad)
	rg.load(t)
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("a kernel reading past its texels did not panic")
			}
		}()
		_ = b.Submit(rg.prog)
	}()
	if gpu.LiveWorkers(b) != 3 {
		t.Errorf("%d workers running after a kernel panicked, want 3", gpu.LiveWorkers(b))
	}
	good := newRig(t, b, hitCase(r, 3000, 64, 0, true), composeCase(r, 640, 360, 16))
	good.load(t)
	good.submit(t)
	good.check(t, "after a panic")
}

// The CPU backend's kernels serial (one thread: the twins) and pooled (all
// of GOMAXPROCS), at the stress world's sizes. Each iteration runs both on
// the same inputs, one after the other, so that a machine shared with
// other work slows both alike; serial-ms and pooled-ms are the times of
// one run (submit to wait; writing back the state a run changes, the
// prior hits and the counts, is not timed) and speedup their ratio. ns/op
// is the two together.
func BenchmarkCPUPool(b *testing.B) {
	r := rand.New(rand.NewPCG(17, 18))
	hit := hitCase(r, 10_000, 256, 0, true)
	unplaced := placeCase(r, 100_000, 64, "unplaced")
	rolling := placeCase(r, 100_000, 64, "rolling")
	compose := composeCase(r, 1920, 1080, 256)
	for _, bc := range []struct {
		name  string
		cases []kcase
	}{
		{"hit/rays=10000,surfaces=256", []kcase{hit}},
		{"place/unplaced,tasks=100000,devices=64", []kcase{unplaced}},
		{"place/rolling,tasks=100000,devices=64", []kcase{rolling}},
		{"compose/1920x1080,surfaces=256", []kcase{compose}},
		// A stress tick's program: hit, a rolling placement and a compose
		// in one batch.
		{"tick/hit+rolling+compose", []kcase{hit, rolling, compose}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			serial, pooled := gpu.NewCPUWorkers(1), gpu.NewCPU()
			defer serial.Close()
			defer pooled.Close()
			rs, rp := newRig(b, serial, bc.cases...), newRig(b, pooled, bc.cases...)
			rs.load(b)
			rp.load(b)
			var ts, tp time.Duration
			for b.Loop() {
				rs.reset(b)
				t0 := time.Now()
				rs.submit(b)
				ts += time.Since(t0)
				rp.reset(b)
				t0 = time.Now()
				rp.submit(b)
				tp += time.Since(t0)
			}
			rs.check(b, "serial")
			rp.check(b, "pooled")
			b.ReportMetric(float64(ts.Microseconds())/1e3/float64(b.N), "serial-ms")
			b.ReportMetric(float64(tp.Microseconds())/1e3/float64(b.N), "pooled-ms")
			b.ReportMetric(float64(ts)/float64(tp), "speedup")
			b.ReportMetric(float64(gpu.PoolWorkers(pooled)+1), "threads")
		})
	}
}
