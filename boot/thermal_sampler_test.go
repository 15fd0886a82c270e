package boot

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayos/engine/world"
)

// On a machine with sensors (the laptop fixture's coretemp), the sampler
// reads them off the tick and feeds thermal inputs, which the recording
// journals: a replay sees the same temperatures.
func TestThermalSamplerFeedsReadingsIntoTheJournal(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "run.jsonl")
	o := Options{
		DataDir: filepath.Join(dir, "data"), Scene: "demo", Hz: 100, Ticks: 30, Paced: true, GPU: "cpu",
		Fabric: FabricAuto, SysRoot: filepath.Join("..", "world", "fabric", "testdata", "sys", "laptop-smt"),
		ThermalSample: 10 * time.Millisecond, RecordPath: rec,
		Stdout: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := Run(o); err != nil {
		t.Fatal(err)
	}
	j, err := world.ReadJournalFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	thermal := 0
	for _, ev := range j.Events {
		if ev.Input.Kind == "thermal" {
			thermal++
		}
	}
	if thermal == 0 {
		raw, _ := os.ReadFile(rec)
		t.Fatalf("no thermal input in the journal of a run on a machine with sensors:\n%s", firstLines(string(raw), 5))
	}
	t.Logf("%d thermal inputs in %d ticks", thermal, o.Ticks)
}

func firstLines(s string, n int) string {
	ls := strings.SplitN(s, "\n", n+1)
	return strings.Join(ls[:min(n, len(ls))], "\n")
}
