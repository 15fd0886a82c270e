package bench

import (
	"strings"
	"testing"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/gpu"
)

func TestRunWorldReportsEverySystem(t *testing.T) {
	r, err := RunWorld(WorldOptions{Scene: "desktop", Seed: 1, Ticks: 20, Warmup: 3, Backend: gpu.NewCPU()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(boot.Pipeline()); len(r.Systems) != n || r.Systems[0].Name != "input" || r.Systems[n-1].Name != "gpu-submit" {
		t.Errorf("systems %+v", r.Systems)
	}
	if r.Ticks != 20 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 || r.Rays != 4 || r.DecayNsPerRay <= 0 || r.SliceNsPerRay <= 0 {
		t.Errorf("report %+v", r)
	}
	var out strings.Builder
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scene=desktop ticks=20 backend=cpu", "tick: p50", "bytes uploaded per tick", "schedule", "fixed per-tick cost dominates", "pixels recomposed per tick"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := RunWorld(WorldOptions{Scene: "desktop", Ticks: 0, Backend: gpu.NewCPU()}); err == nil {
		t.Error("zero ticks accepted")
	}
}

// Device time comes from GPU timestamps where the backend takes them: the
// report says "not timed" on the CPU backend, and on Vulkan with timing on
// (lavapipe needs asking) it has a mean per step over the timed runs.
func TestRunWorldReportsDeviceTime(t *testing.T) {
	r, err := RunWorld(WorldOptions{Scene: "desktop", Seed: 1, Ticks: 10, Warmup: 2, Backend: gpu.NewCPU()})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	if r.TimedRuns != 0 || r.JSON().DeviceNs.TimedRuns != 0 || !strings.Contains(out.String(), "device time: not timed") {
		t.Errorf("CPU backend: %d timed runs, report:\n%s", r.TimedRuns, out.String())
	}
	vk, err := gpu.NewVulkan()
	if err != nil {
		t.Fatalf("Vulkan backend: %v (run `make deps`)", err)
	}
	defer vk.Close()
	if !vk.(gpu.Timer).SetTiming(true) {
		t.Fatal("lavapipe cannot time programs")
	}
	r, err = RunWorld(WorldOptions{Scene: "desktop", Seed: 1, Ticks: 10, Warmup: 2, Backend: vk})
	if err != nil {
		t.Fatal(err)
	}
	d := r.DeviceTime
	if r.TimedRuns != 10 || d.Copies <= 0 || d.Hit < 0 || d.Place < 0 || d.Compose < 0 {
		t.Errorf("Vulkan with timing: %d timed runs, device time %+v", r.TimedRuns, d)
	}
	out.Reset()
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	if j := r.JSON().DeviceNs; j.TimedRuns != 10 || j.Copies != d.Copies.Nanoseconds() || !strings.Contains(out.String(), "device time per run (GPU timestamps, mean of 10)") {
		t.Errorf("JSON %+v, report:\n%s", j, out.String())
	}
}
