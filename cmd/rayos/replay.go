package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/world"
	"github.com/spf13/cobra"
)

func newReplayCmd() *cobra.Command {
	var snapshot, gpuMode string
	cmd := &cobra.Command{
		Use:   "replay JOURNAL",
		Short: "Re-run a recorded journal and print the markers it produces",
		Long: `Replay rebuilds the world from the journal's header (scene, seed, hz), feeds
every recorded input before the same tick, and runs to the recorded end
without pacing. It prints the same markers as the recorded run from
RAYOS_BOOT:gpu on (the lines before it describe the host: replay touches
no RAYOS_DATA; the journal carries the boot entry and the policy), and
--snapshot gives the same final world. SIGINT/SIGTERM stop it cleanly
(RAYOS_BOOT:shutdown, exit status 0) before the recorded end.`,
		Example: `  rayos boot --ticks 200 --record run.jsonl
  rayos replay run.jsonl
  rayos replay run.jsonl --snapshot replayed.json`,
		Args: exactArgs(1, "the journal file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			j, err := world.ReadJournalFile(args[0])
			if err != nil {
				return usageError{err}
			}
			o := boot.Options{
				Seed: j.Header.Seed, Scene: j.Header.Scene, Hz: j.Header.Hz,
				Ticks: j.LastTick(), Journal: j, SnapshotPath: snapshot, Replay: true, GPU: gpuMode,
				Stdout: cmd.OutOrStdout(), Logger: slog.Default(),
			}
			if o.Ticks == 0 {
				o.Ticks = 1
			}
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			// A replay runs unpaced and may be long: SIGINT/SIGTERM end it
			// the way they end a boot, with a RAYOS_BOOT:shutdown marker
			// (reason=signal) and exit status 0, instead of killing it
			// mid-line.
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			o.Signals = sigs
			return boot.Run(o)
		},
	}
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "write the final world to this JSON file")
	cmd.Flags().StringVar(&gpuMode, "gpu", "cpu", "compute backend (auto, vulkan, cpu); replay on the backend that recorded, for bit-identical results")
	return cmd
}
