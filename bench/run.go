package bench

import (
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/attention"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
)

// WorldOptions choose a headless benchmark world.
type WorldOptions struct {
	Scene  string
	Seed   uint64
	Ticks  int
	Warmup int
	// Backend runs the kernels (gpu.NewCPU(), a Vulkan backend, …).
	Backend gpu.Backend
	// Progress, when set, is called with done = 0 before the first tick
	// and after every tick, warm-up included, with total = Warmup + Ticks.
	// It runs between ticks, outside the measured tick durations.
	Progress func(done, total int)
	// CPUProfile, when set, receives a pprof CPU profile of the measured
	// ticks only: not the world's build, the warm-up or the attention-decay
	// comparison, which would otherwise dominate a short run's profile.
	CPUProfile io.Writer
}

// Report is what RunWorld measured. WriteJSON documents its JSON form.
type Report struct {
	Scene, Backend, Device string
	// DeviceType and Memory are the backend's Info: "cpu", "discrete", …
	// and how its buffers are placed.
	DeviceType, Memory string
	Seed               uint64
	Ticks, Warmup      int
	// Tick durations: percentiles and max.
	P50, P99, Max time.Duration
	// Systems in pipeline order with their mean and max cost per tick.
	Systems []SystemCost
	// MirrorBytes is the mean number of component bytes (the columns'
	// syncs) uploaded per tick.
	MirrorBytes float64
	// Traffic per measured tick from the backend's Stats deltas: bytes
	// uploaded (component columns, parameters, indirect arguments) and
	// bytes read back, mean and the largest single tick. Only the mirror
	// talks to the backend while the world ticks.
	UploadBytes, ReadBytes       float64
	UploadBytesMax, ReadBytesMax uint64
	// DeviceTime is the mean device time of the mirror's program per
	// timed run — each kernel and the readback copies, from GPU
	// timestamps — over TimedRuns measured ticks; TimedRuns is 0 where
	// the backend does not time programs (the CPU backend; lavapipe,
	// where timestamps would serialise it).
	DeviceTime gpu.StepTimes
	TimedRuns  int
	// ComposedPixels is the pixels the compositor recomposed per measured
	// tick (mean), ComposedPixelsMax the most in one tick: damage only, so
	// 0 where nothing on screen changed.
	ComposedPixels    float64
	ComposedPixelsMax int
	// Decay compares the attention-decay system with a hand-written slice
	// loop over the same number of rays, measured in this run.
	Rays                         int
	DecayNsPerRay, SliceNsPerRay float64
}

// SystemCost is one system's share of the tick.
type SystemCost struct {
	Name      string
	Mean, Max time.Duration
}

// RunWorld builds the scene with the default policy and registry, ticks it
// unpaced and measures every tick, every system and the GPU traffic, plus
// the hot-loop baseline.
func RunWorld(o WorldOptions) (Report, error) {
	if o.Ticks <= 0 {
		return Report{}, fmt.Errorf("ticks must be positive, got %d", o.Ticks)
	}
	if o.Warmup < 0 {
		return Report{}, fmt.Errorf("warm-up ticks must not be negative, got %d", o.Warmup)
	}
	if o.Backend == nil {
		return Report{}, errors.New("no backend")
	}
	p, err := policy.Load("default", policy.Default())
	if err != nil {
		return Report{}, err
	}
	w, sched, err := boot.BuildWorld(world.Config{Seed: o.Seed, Hz: world.DefaultHz, Scene: o.Scene}, o.Backend, p)
	if err != nil {
		return Report{}, err
	}
	mirror := ecs.GetResource[gpu.Mirror](w.ECS)
	total := o.Warmup + o.Ticks
	progress := func(done int) {
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}
	progress(0)
	for i := range o.Warmup {
		sched.Tick(w)
		progress(i + 1)
	}
	// Count only the measured ticks.
	for i := range w.Stats.Systems {
		w.Stats.Systems[i].Total, w.Stats.Systems[i].Max = 0, 0
	}
	ticks := make([]time.Duration, 0, o.Ticks)
	var columnBytes int
	var device gpu.StepTimes
	var timed, composed, composedMax int
	var uploaded, read, uploadMax, readMax uint64
	if o.CPUProfile != nil {
		if err := pprof.StartCPUProfile(o.CPUProfile); err != nil {
			return Report{}, fmt.Errorf("cpu profile: %w", err)
		}
	}
	before := o.Backend.Stats()
	for i := range o.Ticks {
		sched.Tick(w)
		ticks = append(ticks, w.Stats.Last)
		stats := mirror.Stats()
		columnBytes += stats.ColumnBytes
		composed += stats.ComposedPixels
		composedMax = max(composedMax, stats.ComposedPixels)
		if t := stats.DeviceTime; t.Hit+t.Place+t.Compose+t.Copies > 0 {
			device.Hit, device.Place, device.Compose, device.Copies = device.Hit+t.Hit, device.Place+t.Place, device.Compose+t.Compose, device.Copies+t.Copies
			timed++
		}
		after := o.Backend.Stats()
		up, rd := after.BytesUploaded-before.BytesUploaded, after.BytesRead-before.BytesRead
		uploaded, read = uploaded+up, read+rd
		uploadMax, readMax = max(uploadMax, up), max(readMax, rd)
		before = after
		progress(o.Warmup + i + 1)
	}
	if o.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	info := o.Backend.Info()
	n := float64(o.Ticks)
	r := Report{
		Scene: o.Scene, Backend: info.Backend, Device: info.Device, DeviceType: info.Type, Memory: info.Memory,
		Seed: o.Seed, Ticks: o.Ticks, Warmup: o.Warmup,
		MirrorBytes: float64(columnBytes) / n,
		UploadBytes: float64(uploaded) / n, ReadBytes: float64(read) / n, UploadBytesMax: uploadMax, ReadBytesMax: readMax,
		TimedRuns: timed, ComposedPixels: float64(composed) / n, ComposedPixelsMax: composedMax,
	}
	if timed > 0 {
		per := time.Duration(timed)
		r.DeviceTime = gpu.StepTimes{Hit: device.Hit / per, Place: device.Place / per, Compose: device.Compose / per, Copies: device.Copies / per}
	}
	sorted := slices.Clone(ticks)
	slices.Sort(sorted)
	r.P50, r.P99, r.Max = sorted[len(sorted)/2], sorted[len(sorted)*99/100], sorted[len(sorted)-1]
	for _, s := range w.Stats.Systems {
		r.Systems = append(r.Systems, SystemCost{Name: s.Name, Mean: s.Total / time.Duration(o.Ticks), Max: s.Max})
	}
	r.Rays, r.DecayNsPerRay, r.SliceNsPerRay = decayVersusSlice(w)
	return r, nil
}

// decayVersusSlice times the attention-decay system on the world's rays
// against the same loop over a plain []AttentionRay of the same length.
func decayVersusSlice(w *world.World) (rays int, system, slice float64) {
	q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query()
	rays = q.Count()
	q.Close()
	n := max(rays, 1)
	reps := max(1, 2_000_000/n)
	d := attention.NewDecay()
	if err := d.Init(w); err != nil {
		return rays, 0, 0
	}
	// The baseline starts from the world's own rays in the same order, so
	// both loops take the same branches (rays fading out in random order
	// cost mispredictions that uniform ones would not).
	plain := make([]components.AttentionRay, 0, n)
	for q := ecs.NewFilter1[components.AttentionRay](w.ECS).Query(); q.NextTable(); {
		plain = append(plain, q.GetColumns()...)
	}
	start := time.Now()
	for range reps {
		d.Run(w)
	}
	system = float64(time.Since(start).Nanoseconds()) / float64(reps*n)
	fade, tick := attention.NewFade(w.Clock.Dt), uint32(w.Clock.Tick)
	start = time.Now()
	for range reps {
		attention.ExpireWeights(plain, tick, fade)
	}
	slice = float64(time.Since(start).Nanoseconds()) / float64(reps*n)
	return rays, system, slice
}

// Write prints the report as a table.
func (r Report) Write(out io.Writer) error {
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Nanoseconds())/1000) }
	var b strings.Builder
	fmt.Fprintf(&b, "RayOS headless world: scene=%s ticks=%d backend=%s (%s)\n\n", r.Scene, r.Ticks, r.Backend, r.Device)
	fmt.Fprintf(&b, "tick: p50 %s µs, p99 %s µs, max %s µs\n", us(r.P50), us(r.P99), us(r.Max))
	fmt.Fprintf(&b, "GPU mirror: %.0f bytes uploaded per tick (mean; max %d; component columns %.0f), %.0f bytes read back per tick (mean; max %d)\n",
		r.UploadBytes, r.UploadBytesMax, r.MirrorBytes, r.ReadBytes, r.ReadBytesMax)
	fmt.Fprintf(&b, "compositor: %.0f pixels recomposed per tick (mean; max %d)\n", r.ComposedPixels, r.ComposedPixelsMax)
	if r.TimedRuns > 0 {
		t := r.DeviceTime
		fmt.Fprintf(&b, "device time per run (GPU timestamps, mean of %d): hit %s µs, place %s µs, compose %s µs, readback copies %s µs\n",
			r.TimedRuns, us(t.Hit), us(t.Place), us(t.Compose), us(t.Copies))
	} else {
		fmt.Fprintf(&b, "device time: not timed on this backend (GPU timestamps are taken on a GPU only)\n")
	}
	if r.SliceNsPerRay > 0 {
		fmt.Fprintf(&b, "attention-decay over %d rays: %.2f ns/ray vs %.2f ns/ray for a hand-written slice loop (%.2f×)\n",
			r.Rays, r.DecayNsPerRay, r.SliceNsPerRay, r.DecayNsPerRay/r.SliceNsPerRay)
		if r.Rays < 1000 {
			fmt.Fprintf(&b, "  (with %d rays the system's fixed per-tick cost dominates; the per-ray comparison means something from ~1,000 rays: try --scene stress)\n", r.Rays)
		}
	}
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tmean µs\tmax µs\t")
	for _, s := range r.Systems {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", s.Name, us(s.Mean), us(s.Max))
	}
	tw.Flush()
	_, err := io.WriteString(out, b.String())
	return err
}
