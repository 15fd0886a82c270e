package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/world"
	"github.com/spf13/cobra"
)

func newViewCmd() *cobra.Command {
	var vf viewerFlags
	var gpuMode string
	cmd := &cobra.Command{
		Use:   "view SNAPSHOT|JOURNAL",
		Short: "Serve the debug viewer offline, for a world snapshot or a replayed journal",
		Long: `View serves the same page as rayos boot --viewer without a running RayOS:

  - a world snapshot (rayos boot --snapshot FILE): the world at its last
    tick, frozen — entities, placement map, guests, the frame composed from
    its surfaces (a snapshot holds no guest displays, no markers, no policy);
  - a journal (rayos boot --record FILE): the recorded world replayed in
    this process, opened paused at tick 0, with a tick scrubber: play at
    the recorded rate, pause, step, or seek to any tick (seeking backwards
    replays from the start: the same journal gives the same world).

Actions (present, start, …) are refused: nothing here is a running RayOS.
The page's URL, with its token, is printed on stderr; the markers of a
replay are on the page, not on stdout (rayos replay prints them).
SIGINT/SIGTERM stop it.`,
		Example: `  rayos boot --ticks 600 --record run.jsonl --snapshot world.json
  rayos view world.json                       # http://127.0.0.1:7777/?token=…
  rayos view run.jsonl --viewer 127.0.0.1:8080`,
		Args: exactArgs(1, "a snapshot or journal file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := vf.config(cmd)
			if err != nil {
				return usageError{err}
			}
			path := args[0]
			journal, err := isJournal(path)
			if err != nil {
				return usageError{err}
			}
			cfg.Logger, cfg.Notice = slog.Default(), cmd.ErrOrStderr()
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			if journal {
				return viewJournal(path, *cfg, gpuMode, vf.tokenFile, sigs)
			}
			return viewSnapshot(path, *cfg, vf.tokenFile, sigs)
		},
	}
	vf.add(cmd.Flags(), "127.0.0.1:7777", false)
	cmd.Flags().StringVar(&gpuMode, "gpu", "cpu", "compute backend of a replayed journal (auto, vulkan, cpu)")
	return cmd
}

// isJournal tells a journal (its first line is the rayos-journal header)
// from a snapshot.
func isJournal(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 1<<20)).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return bytes.Contains(line, []byte(`"format"`)) && bytes.Contains(line, []byte(world.JournalFormat)), nil
}

// serve starts the server and tells the user where it is.
func serve(cfg viewer.Config, mode, tokenFile string) (*viewer.Server, error) {
	srv, err := viewer.New(cfg, mode)
	if err != nil {
		return nil, err
	}
	if tokenFile != "" {
		if err := srv.WriteTokenFile(tokenFile); err != nil {
			srv.Close()
			return nil, err
		}
	}
	srv.Announce(tokenFile)
	return srv, nil
}

func viewSnapshot(path string, cfg viewer.Config, tokenFile string, sigs <-chan os.Signal) error {
	f, err := os.Open(path)
	if err != nil {
		return usageError{err}
	}
	snap, err := viewer.ReadSnapshot(f, path)
	f.Close()
	if err != nil {
		return usageError{err}
	}
	srv, err := serve(cfg, viewer.ModeSnapshot, tokenFile)
	if err != nil {
		return err
	}
	defer srv.Close()
	if tokenFile != "" {
		defer os.Remove(tokenFile)
	}
	if err := srv.ServeSnapshot(snap); err != nil {
		return err
	}
	<-sigs
	return nil
}

// viewJournal replays the journal in this process (boot.ViewJournal).
func viewJournal(path string, cfg viewer.Config, gpuMode, tokenFile string, sigs <-chan os.Signal) error {
	j, err := world.ReadJournalFile(path)
	if err != nil {
		return usageError{err}
	}
	o := boot.Options{
		Seed: j.Header.Seed, Scene: j.Header.Scene, Hz: j.Header.Hz,
		Ticks: max(j.LastTick(), 1), Journal: j, Replay: true, Paced: true, GPU: gpuMode,
		Stdout: io.Discard, Logger: slog.Default(), Signals: sigs,
	}
	if err := o.Validate(); err != nil {
		return usageError{err}
	}
	srv, err := serve(cfg, viewer.ModeJournal, tokenFile)
	if err != nil {
		return err
	}
	defer srv.Close()
	if tokenFile != "" {
		defer os.Remove(tokenFile)
	}
	o.Viewer = srv
	return boot.ViewJournal(o)
}
