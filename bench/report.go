package bench

import (
	"encoding/json"
	"io"
	"math"
)

// ReportFormat names the JSON form of a Report. It changes only when a
// field is renamed, removed or changes meaning; fields may be added
// without changing it, so a consumer should ignore fields it does not know.
const ReportFormat = "rayos-bench/1"

// JSONReport is a Report as `rayos bench --json` prints it: one object,
// durations in integer nanoseconds, bytes as numbers.
type JSONReport struct {
	// Format is ReportFormat.
	Format string `json:"format"`
	Scene  string `json:"scene"`
	Seed   uint64 `json:"seed"`
	// Ticks were measured after Warmup unmeasured ones.
	Ticks  int `json:"ticks"`
	Warmup int `json:"warmup"`
	// Backend is "cpu" or "vulkan"; Device, DeviceType and Memory are the
	// backend's gpu.Info.
	Backend    string `json:"backend"`
	Device     string `json:"device"`
	DeviceType string `json:"device_type"`
	Memory     string `json:"memory"`
	// TickNs holds the measured ticks' p50, p99 and max.
	TickNs struct {
		P50 int64 `json:"p50"`
		P99 int64 `json:"p99"`
		Max int64 `json:"max"`
	} `json:"tick_ns"`
	// Systems are in pipeline order, mean and max per measured tick.
	Systems []JSONSystem `json:"systems"`
	// BytesPerTick is the GPU mirror's traffic per measured tick.
	BytesPerTick struct {
		// Uploaded is the mean of everything written to the backend
		// (columns, parameters, indirect arguments); UploadedMax the
		// largest single tick.
		Uploaded    float64 `json:"uploaded"`
		UploadedMax uint64  `json:"uploaded_max"`
		// Columns is the mean of the component columns' share of Uploaded.
		Columns float64 `json:"columns"`
		// ReadBack is the mean read back from the backend; ReadBackMax
		// the largest single tick.
		ReadBack    float64 `json:"read_back"`
		ReadBackMax uint64  `json:"read_back_max"`
	} `json:"bytes_per_tick"`
	// DeviceNs is the mean device time of the GPU program per timed run,
	// per step, from GPU timestamps (each kernel's time runs from the end
	// of the step before it); TimedRuns is how many measured ticks were
	// timed, 0 (and every time 0) where the backend does not time
	// programs: the CPU backend, and lavapipe.
	DeviceNs struct {
		TimedRuns int   `json:"timed_runs"`
		Hit       int64 `json:"hit"`
		Place     int64 `json:"place"`
		Compose   int64 `json:"compose"`
		Copies    int64 `json:"copies"`
	} `json:"device_ns"`
	// ComposedPx is what the compositor recomposed per measured tick:
	// Mean pixels, and Max in one tick (0 where nothing on screen
	// changed: it recomposes damaged tiles only).
	ComposedPx struct {
		Mean float64 `json:"mean"`
		Max  int     `json:"max"`
	} `json:"composed_px"`
	// AttentionDecay compares the attention-decay system with a
	// hand-written slice loop over as many rays, in the same run. Ratio is
	// system ÷ slice, 0 when the slice loop could not be timed.
	AttentionDecay struct {
		Rays           int     `json:"rays"`
		SystemNsPerRay float64 `json:"system_ns_per_ray"`
		SliceNsPerRay  float64 `json:"slice_ns_per_ray"`
		Ratio          float64 `json:"ratio"`
	} `json:"attention_decay"`
}

// JSONSystem is one system's cost per measured tick.
type JSONSystem struct {
	Name   string `json:"name"`
	MeanNs int64  `json:"mean_ns"`
	MaxNs  int64  `json:"max_ns"`
}

// JSON returns the report in its stable JSON form.
func (r Report) JSON() JSONReport {
	j := JSONReport{
		Format: ReportFormat, Scene: r.Scene, Seed: r.Seed, Ticks: r.Ticks, Warmup: r.Warmup,
		Backend: r.Backend, Device: r.Device, DeviceType: r.DeviceType, Memory: r.Memory,
		Systems: make([]JSONSystem, 0, len(r.Systems)),
	}
	j.TickNs.P50, j.TickNs.P99, j.TickNs.Max = r.P50.Nanoseconds(), r.P99.Nanoseconds(), r.Max.Nanoseconds()
	for _, s := range r.Systems {
		j.Systems = append(j.Systems, JSONSystem{Name: s.Name, MeanNs: s.Mean.Nanoseconds(), MaxNs: s.Max.Nanoseconds()})
	}
	b := &j.BytesPerTick
	b.Uploaded, b.UploadedMax, b.Columns = finite(r.UploadBytes), r.UploadBytesMax, finite(r.MirrorBytes)
	b.ReadBack, b.ReadBackMax = finite(r.ReadBytes), r.ReadBytesMax
	j.ComposedPx.Mean, j.ComposedPx.Max = finite(r.ComposedPixels), r.ComposedPixelsMax
	dev := &j.DeviceNs
	dev.TimedRuns = r.TimedRuns
	dev.Hit, dev.Place, dev.Compose, dev.Copies = r.DeviceTime.Hit.Nanoseconds(), r.DeviceTime.Place.Nanoseconds(), r.DeviceTime.Compose.Nanoseconds(), r.DeviceTime.Copies.Nanoseconds()
	d := &j.AttentionDecay
	d.Rays, d.SystemNsPerRay, d.SliceNsPerRay = r.Rays, finite(r.DecayNsPerRay), finite(r.SliceNsPerRay)
	if r.SliceNsPerRay > 0 {
		d.Ratio = finite(r.DecayNsPerRay / r.SliceNsPerRay)
	}
	return j
}

// WriteJSON prints the report as one JSON object on one line (jq
// prints it readably), so that runs appended to a file stay one per line.
func (r Report) WriteJSON(out io.Writer) error {
	enc := json.NewEncoder(out)
	return enc.Encode(r.JSON())
}

// finite maps NaN and ±Inf, which encoding/json refuses, to 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
