package bench

import (
	"strings"
	"testing"

	"github.com/rayos/engine/gpu"
)

func TestRunWorldReportsEverySystem(t *testing.T) {
	r, err := RunWorld(WorldOptions{Scene: "desktop", Seed: 1, Ticks: 20, Warmup: 3, Backend: gpu.NewCPU()})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Systems) != 12 || r.Systems[0].Name != "input" || r.Systems[11].Name != "gpu-submit" {
		t.Errorf("systems %+v", r.Systems)
	}
	if r.Ticks != 20 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 || r.Rays != 4 || r.DecayNsPerRay <= 0 || r.SliceNsPerRay <= 0 {
		t.Errorf("report %+v", r)
	}
	var out strings.Builder
	if err := r.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scene=desktop ticks=20 backend=cpu", "tick: p50", "bytes uploaded per tick", "schedule", "fixed per-tick cost dominates"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := RunWorld(WorldOptions{Scene: "desktop", Ticks: 0, Backend: gpu.NewCPU()}); err == nil {
		t.Error("zero ticks accepted")
	}
}
