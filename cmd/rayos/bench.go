package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rayos/engine/bench"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world/scene"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// maxBenchTicks bounds --ticks and --warmup: every measured tick's
// duration is kept for the percentiles, so a mistyped count would
// otherwise ask for gigabytes before the first tick.
const maxBenchTicks = 10_000_000

func newBenchCmd() *cobra.Command {
	o := bench.WorldOptions{Scene: "desktop", Seed: 1, Ticks: 300, Warmup: 30}
	var (
		gpuMode, cpuProfile string
		asJSON              bool
		progressAfter       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Tick a headless synthetic world and report tick percentiles, per-system cost and GPU traffic",
		Long: `bench builds a synthetic world (--scene: ` + strings.Join(scene.Names(), ", ") + `)
with the default policy and registry, ticks it as fast as it can and reports
the tick's p50/p99, each system's cost, the bytes the GPU mirror uploads and
reads back per tick (mean and largest tick), and the attention-decay system
against a hand-written slice loop measured in the same run. Nothing is
written to disk but --cpuprofile. The Go benchmarks behind bench/RESULTS.md
are run with make bench and bench/gpu.sh.

--json prints the whole report as one JSON object on stdout instead of the
table (field names: README.md, "rayos bench"; "format" names the version).
A run expected to take over a second shows a progress bar on stderr when
stderr is a terminal and --json is not given.

--gpu vulkan with no usable Vulkan device fails (exit status 1) and says why;
--gpu auto falls back to the CPU backend.`,
		Example: `  rayos bench
  rayos bench --scene stress --ticks 100
  rayos bench --scene desktop --gpu vulkan
  rayos bench --scene stress --json | jq .tick_ns.p50
  rayos bench --scene stress --cpuprofile cpu.out && go tool pprof -top bin/rayos cpu.out`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := scene.Known(o.Scene); err != nil {
				return usageError{fmt.Errorf("--scene: %w", err)}
			}
			if !slices.Contains(gpu.Modes, gpuMode) {
				return usageError{fmt.Errorf("--gpu %q: want one of %s", gpuMode, strings.Join(gpu.Modes, ", "))}
			}
			if o.Ticks <= 0 || o.Ticks > maxBenchTicks {
				return usageError{fmt.Errorf("--ticks %d: want 1..%d", o.Ticks, maxBenchTicks)}
			}
			if o.Warmup < 0 || o.Warmup > maxBenchTicks {
				return usageError{fmt.Errorf("--warmup %d: want 0..%d", o.Warmup, maxBenchTicks)}
			}
			if progressAfter < 0 {
				return usageError{fmt.Errorf("--progress-after %v: want a duration ≥ 0", progressAfter)}
			}
			if cmd.Flags().Changed("cpuprofile") {
				if err := checkOutputFile(cpuProfile); err != nil {
					return usageError{fmt.Errorf("--cpuprofile: %w", err)}
				}
			}
			// Checked before the backend opens: bad usage is reported as
			// such even on a machine without the device asked for.
			backend, _, err := gpu.Open(gpuMode, slog.Default())
			if err != nil {
				return err
			}
			defer backend.Close()
			o.Backend = backend
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return usageError{fmt.Errorf("--cpuprofile: %w", err)}
				}
				defer f.Close()
				o.CPUProfile = f
			}
			var bar *tickProgress
			if !asJSON && isTerminal(cmd.ErrOrStderr()) {
				bar = &tickProgress{out: cmd.ErrOrStderr(), after: progressAfter, what: "ticking " + o.Scene}
				o.Progress = bar.update
			}
			r, err := bench.RunWorld(o)
			bar.finish()
			if err != nil {
				return err
			}
			if f, ok := o.CPUProfile.(*os.File); ok {
				if err := f.Close(); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
			}
			if asJSON {
				return r.WriteJSON(cmd.OutOrStdout())
			}
			return r.Write(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Scene, "scene", o.Scene, "world to build: "+strings.Join(scene.Names(), ", "))
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the world")
	f.IntVar(&o.Ticks, "ticks", o.Ticks, fmt.Sprintf("ticks to measure, in [1, %d]", maxBenchTicks))
	f.IntVar(&o.Warmup, "warmup", o.Warmup, "ticks to run first, unmeasured")
	f.StringVar(&gpuMode, "gpu", gpu.ModeCPU, "compute backend: cpu, vulkan (fails without a Vulkan device), auto (a real GPU, else cpu)")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON object on stdout (no progress bar)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the measured ticks to this file")
	// A test hook: the bar's threshold, so that a test on a fast machine
	// sees it without depending on how long a run takes.
	f.DurationVar(&progressAfter, "progress-after", time.Second, "show the progress bar when the run is expected to take longer than this")
	_ = f.MarkHidden("progress-after")
	return cmd
}

// checkOutputFile reports, without creating it, why path cannot be written
// as a new or replaced file: empty, a folder, or in a folder that does not
// exist.
func checkOutputFile(path string) error {
	if strings.TrimSpace(path) == "" {
		return errors.New("empty file name")
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	dir := filepath.Dir(path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%s: folder %s does not exist", path, dir)
	}
	return nil
}

// isTerminal reports whether w is a terminal: a bar's carriage returns
// would litter a file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// tickProgress shows a progress bar once the run, extrapolated from the
// ticks so far, is expected to take longer than after: short runs stay
// quiet, and the first ticks are the estimate's only honest source (a
// scene's tick cost is not known before it is built).
type tickProgress struct {
	out   io.Writer
	after time.Duration
	what  string
	start time.Time
	bar   *progressbar.ProgressBar
}

func (p *tickProgress) update(done, total int) {
	if done == 0 {
		p.start = time.Now()
		return
	}
	if p.bar == nil {
		// The first ticks are the slowest (the initial upload, cold
		// caches): extrapolating from them alone put a bar on runs of a
		// few milliseconds. A quarter of the threshold is enough of the
		// run to judge by, and a run that ends sooner needs no bar.
		elapsed := time.Since(p.start)
		if elapsed < p.after/4 {
			return
		}
		if expected := time.Duration(float64(elapsed) * float64(total) / float64(done)); expected <= p.after {
			return
		}
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription(p.what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("ticks"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			// Rendering between every tick would cost more than a small
			// scene's tick; ten frames a second is enough to watch.
			progressbar.OptionThrottle(100*time.Millisecond),
			// The report follows on stdout, usually the same terminal.
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = p.bar.Set(done)
}

// finish clears the bar, if one was shown.
func (p *tickProgress) finish() {
	if p != nil && p.bar != nil {
		_ = p.bar.Finish()
	}
}
