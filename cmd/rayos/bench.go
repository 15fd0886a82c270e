package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/rayos/engine/bench"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world/scene"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	o := bench.WorldOptions{Scene: "desktop", Seed: 1, Ticks: 300, Warmup: 30}
	var gpuMode string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Tick a headless synthetic world and report tick percentiles, per-system cost and GPU traffic",
		Long: `bench builds a synthetic world (demo, desktop: 64 windows / 2,000 tasks,
stress: 256 windows / 10,000 rays / 100,000 tasks) with the default policy and
registry, ticks it as fast as it can and reports the tick's p50/p99, each
system's cost, the bytes the GPU mirror uploads per tick, and the
attention-decay system against a hand-written slice loop measured in the
same run. Nothing is written to disk. The Go benchmarks behind bench/RESULTS.md
are run with make bench.`,
		Example: `  rayos bench
  rayos bench --scene stress --ticks 100
  rayos bench --scene desktop --gpu vulkan`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := scene.Known(o.Scene); err != nil {
				return usageError{fmt.Errorf("--scene: %w", err)}
			}
			if !slices.Contains(gpu.Modes, gpuMode) {
				return usageError{fmt.Errorf("--gpu %q: want one of %s", gpuMode, strings.Join(gpu.Modes, ", "))}
			}
			if o.Ticks <= 0 || o.Warmup < 0 {
				return usageError{fmt.Errorf("--ticks must be positive and --warmup not negative")}
			}
			backend, _, err := gpu.Open(gpuMode, slog.Default())
			if err != nil {
				return err
			}
			defer backend.Close()
			o.Backend = backend
			r, err := bench.RunWorld(o)
			if err != nil {
				return err
			}
			return r.Write(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Scene, "scene", o.Scene, "world to build: demo, desktop, stress")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the world")
	f.IntVar(&o.Ticks, "ticks", o.Ticks, "ticks to measure")
	f.IntVar(&o.Warmup, "warmup", o.Warmup, "ticks to run first, unmeasured")
	f.StringVar(&gpuMode, "gpu", gpu.ModeCPU, "compute backend: cpu, vulkan, auto")
	return cmd
}
