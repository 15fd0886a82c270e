package boot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

// Version is the engine's version, printed by `rayos version` and in the
// start marker.
const Version = "0.1.0-dev"

// Options configure one run of the runtime.
type Options struct {
	// DataDir is RAYOS_DATA. Empty means none: markers go only to Stdout
	// (replays use this).
	DataDir string
	// Seed, Scene and Hz define the world.
	Seed  uint64
	Scene string
	Hz    float64
	// Ticks stops the run after that many ticks; 0 runs until a signal.
	Ticks uint64
	// Paced ticks at Hz against the wall clock; unpaced runs as fast as it
	// can (replay, tests).
	Paced bool
	// Journal, when set, supplies inputs to feed before their ticks.
	Journal *world.Journal
	// RecordPath, when set, receives a journal of every input fed.
	RecordPath string
	// SnapshotPath, when set, receives the final world snapshot (JSON).
	SnapshotPath string
	// FramePath, when set, receives the last composed frame (PNG).
	FramePath string
	// GPU selects the compute backend: auto, vulkan or cpu.
	GPU string
	// Replay makes the start marker say so.
	Replay bool
	// Signals delivers SIGINT/SIGTERM; each becomes a signal input.
	Signals <-chan os.Signal
	// Stdout receives the marker stream; Logger the diagnostics.
	Stdout io.Writer
	Logger *slog.Logger
}

// Validate checks the options without touching the disk, so that bad input
// is reported before anything is created.
func (o *Options) Validate() error {
	if err := world.ValidateHz(o.Hz); err != nil {
		return fmt.Errorf("--hz: %w", err)
	}
	if err := scene.Known(o.Scene); err != nil {
		return fmt.Errorf("--scene: %w", err)
	}
	if o.GPU == "" {
		o.GPU = gpu.ModeAuto
	}
	if !slices.Contains(gpu.Modes, o.GPU) {
		return fmt.Errorf("--gpu %q: want one of %s", o.GPU, strings.Join(gpu.Modes, ", "))
	}
	if o.DataDir != "" {
		if err := CheckDataDir(o.DataDir); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
	}
	for flag, path := range map[string]string{"--record": o.RecordPath, "--snapshot": o.SnapshotPath, "--frame": o.FramePath} {
		if path == "" {
			continue
		}
		if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
			return fmt.Errorf("%s %s: folder %s does not exist", flag, path, filepath.Dir(path))
		}
	}
	return nil
}

// Run boots the world and ticks it until Ticks, a signal input, or the end
// of a replayed journal. It returns nil on a clean shutdown.
func Run(o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	bus := marker.NewBus(o.Stdout)

	var data *DataDir
	if o.DataDir != "" {
		var err error
		if data, err = OpenDataDir(o.DataDir); err != nil {
			return err
		}
		defer data.Close()
		bus.AddSink(data.MarkerLog)
	}

	start := "rayos " + Version
	if o.Replay {
		start += " replay"
	}
	bus.Emit(marker.Boot("start", start))
	if data != nil {
		log.Info("RAYOS_DATA ready", "path", data.Path)
		bus.Emit(marker.Boot("data-ready", "logs/markers.log"))
	}

	backend, why, err := gpu.Open(o.GPU, log)
	if err != nil {
		return err
	}
	defer backend.Close()
	info := backend.Info()
	bus.Emit(marker.Boot("gpu", fmt.Sprintf("backend=%s type=%s device=%q why=%q", info.Backend, info.Type, info.Device, why)))

	w := world.New(world.Config{Seed: o.Seed, Hz: o.Hz, Scene: o.Scene}, bus)
	w.Logger = log
	sum, err := scene.Build(o.Scene, w)
	if err != nil {
		return err
	}
	bus.Emit(marker.Boot("world", fmt.Sprintf("scene=%s seed=%d hz=%g surfaces=%d guests=%d devices=%d tasks=%d",
		o.Scene, o.Seed, o.Hz, sum.Surfaces, len(sum.Guests), sum.Devices, sum.Tasks)))
	announceGuests(w, sum)

	sched, mirror, err := Assemble(w, backend)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(sched.Systems()))
	for _, d := range sched.Systems() {
		names = append(names, d.Name)
	}
	bus.Emit(marker.Boot("systems", strings.Join(names, ",")))

	var rec *world.JournalWriter
	if o.RecordPath != "" {
		f, err := os.Create(o.RecordPath)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		if rec, err = world.NewJournalWriter(f, world.JournalHeader{Seed: o.Seed, Scene: o.Scene, Hz: o.Hz}); err != nil {
			f.Close()
			return fmt.Errorf("--record %s: %w", o.RecordPath, err)
		}
		w.Inbox.OnFeed = rec.Record
	}

	bus.Emit(marker.Boot("ready", "tick=0"))
	reason := tick(w, sched, &o)
	bus.Emit(marker.Boot("shutdown", fmt.Sprintf("reason=%s tick=%d", reason, w.Clock.Tick)))
	log.Info("stopped", "reason", reason, "ticks", w.Clock.Tick, "mean_tick", meanTick(w.Stats))

	var errs []error
	if rec != nil {
		if err := rec.Close(w.Clock.Tick); err != nil {
			errs = append(errs, fmt.Errorf("--record %s: %w", o.RecordPath, err))
		}
	}
	if o.SnapshotPath != "" {
		if err := writeFileAtomic(o.SnapshotPath, w.WriteSnapshot); err != nil {
			errs = append(errs, fmt.Errorf("--snapshot: %w", err))
		}
	}
	if o.FramePath != "" {
		if err := writeFileAtomic(o.FramePath, func(out io.Writer) error { return writeFrame(out, mirror) }); err != nil {
			errs = append(errs, fmt.Errorf("--frame: %w", err))
		}
	}
	if err := bus.Err(); err != nil {
		errs = append(errs, fmt.Errorf("marker sink: %w", err))
	}
	return errors.Join(errs...)
}

// tick runs the loop and returns why it stopped.
func tick(w *world.World, sched *world.Scheduler, o *Options) string {
	var ticker *time.Ticker
	if o.Paced {
		ticker = time.NewTicker(w.Clock.Dt)
		defer ticker.Stop()
	}
	var events []world.JournalEvent
	if o.Journal != nil {
		events = o.Journal.Events
	}
	for {
		if o.Ticks > 0 && w.Clock.Tick >= o.Ticks {
			return "tick-limit"
		}
		if ticker != nil {
			select {
			case sig := <-o.Signals:
				feedSignal(w, sig)
			case <-ticker.C:
			}
		} else {
			select {
			case sig := <-o.Signals:
				feedSignal(w, sig)
			default:
			}
		}
		next := w.Clock.Tick + 1
		for len(events) > 0 && events[0].Tick <= next {
			in, _ := events[0].Input.ToInput() // validated when the journal was read
			w.Inbox.Feed(w.Clock, in)
			events = events[1:]
		}
		sched.Tick(w)
		if w.Run.StopReason != "" {
			return strings.ReplaceAll(w.Run.StopReason, " ", "-")
		}
	}
}

// feedSignal turns a process signal into an input, so the shutdown is part
// of the journal and a replay stops at the same tick for the same reason.
func feedSignal(w *world.World, sig os.Signal) {
	name := sig.String()
	if s, ok := sig.(syscall.Signal); ok {
		switch s {
		case syscall.SIGTERM:
			name = "SIGTERM"
		case syscall.SIGINT:
			name = "SIGINT"
		}
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputSignal, Text: name})
}

// announceGuests emits the state of every guest the scene created.
func announceGuests(w *world.World, sum scene.Summary) {
	guests := ecs.NewMap1[components.Guest](w.ECS)
	for _, e := range sum.Guests {
		g := guests.Get(e)
		w.Emit(marker.Guest(g.ID, components.GuestStateNames[g.State]))
	}
}

func meanTick(s *world.TickStats) time.Duration {
	if s.Ticks == 0 {
		return 0
	}
	return s.Total / time.Duration(s.Ticks)
}

// writeFileAtomic writes path through a temporary file and a rename, so a
// reader never sees half a file and a failure leaves the old one.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
