package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/spf13/cobra"
)

func newBootCmd() *cobra.Command {
	o := boot.Options{Scene: "demo", Hz: world.DefaultHz, Paced: true, Fabric: boot.FabricAuto, ThermalSample: time.Second}
	var explain bool
	var journalPath, attentionPath string
	var vf viewerFlags
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Boot the RayOS runtime and tick the world until stopped",
		Long: `Boot reads the BootInfo hand-off, mounts RAYOS_DATA (--data; created with a
commented deny-by-default policy on first boot), picks the boot entry,
loads the policy and the VM registry, builds the world (--scene, --seed),
prints the boot markers ending in RAYOS_BOOT:ready (docs/markers.md), and
ticks at --hz until SIGINT/SIGTERM or --ticks. A signal ends the run
cleanly with a RAYOS_BOOT:shutdown marker and exit status 0.

An invalid policy does not stop the boot: everything it governs is denied
and RAYOS_POLICY_VIOLATION:policy-invalid says why. Replacing the policy
file while running reloads it; an invalid replacement is refused.

Every input fed into the world can be recorded (--record) and replayed
(rayos replay): the same seed and journal give the same world and markers.`,
		Example: `  # boot the demo world and run until Ctrl-C
  rayos boot

  # 120 ticks at 1 kHz, recording the inputs and the final world
  rayos boot --hz 1000 --ticks 120 --record run.jsonl --snapshot world.json

  # feed a journal of inputs (gaze, text commands) into a fresh world
  rayos boot --journal inputs.jsonl --ticks 300

  # run the kernels on any Vulkan device (lavapipe too) and save the composed frame
  rayos boot --gpu vulkan --ticks 10 --frame frame.png

  # boot the recovery entry: no guests start, the policy is only read
  rayos boot --entry recovery

  # print the tick pipeline and exit
  rayos boot --explain

  # serve the live debug viewer on loopback (the URL with its token is on
  # stderr; the token also in RAYOS_DATA/viewer.token); --debug adds
  # pause/step/resume and /debug/pprof
  rayos boot --viewer 127.0.0.1:7777 --debug`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if explain {
				return explainPipeline(cmd)
			}
			if journalPath != "" {
				j, err := world.ReadJournalFile(journalPath)
				if err != nil {
					return usageError{err}
				}
				o.Journal = j
			}
			if attentionPath != "" {
				text, err := os.ReadFile(attentionPath)
				if err != nil {
					return usageError{fmt.Errorf("--attention: %w", err)}
				}
				if _, err := model.Parse(attentionPath, text); err != nil {
					return usageError{fmt.Errorf("--attention: %w", err)}
				}
				o.Attention = string(text)
			}
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			vcfg, err := vf.config(cmd)
			if err != nil {
				return usageError{err}
			}
			// An installed system finds its BootInfo on the kernel command line.
			if cmdline, err := os.ReadFile("/proc/cmdline"); err == nil {
				o.Cmdline = string(cmdline)
			}
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			// Diagnostics go through a spool like the markers: a stderr
			// nobody reads must not stall the tick either.
			logger, flush := boot.NewDiagnostics(cmd.ErrOrStderr(), logLevel())
			defer flush()
			slog.SetDefault(logger)
			o.Signals, o.Stdout, o.Logger = sigs, cmd.OutOrStdout(), logger
			if vcfg != nil {
				// Listening comes before the boot writes anything: an
				// address in use fails here, not as a failed boot.
				vcfg.Logger, vcfg.Notice = logger, cmd.ErrOrStderr()
				srv, err := viewer.New(*vcfg, viewer.ModeLive)
				if err != nil {
					return err
				}
				defer srv.Close()
				o.Viewer, o.ViewerTokenFile = srv, vf.tokenFile
			}
			return boot.Run(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data", "./rayos-data", "RAYOS_DATA folder (created if missing; markers are also appended to logs/markers.log there)")
	f.Float64Var(&o.Hz, "hz", o.Hz, "ticks per second, in [0.001, 10000]")
	f.Uint64Var(&o.Ticks, "ticks", 0, "stop after this many ticks (0: run until SIGINT/SIGTERM)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the world's random number generator")
	f.StringVar(&o.Scene, "scene", o.Scene, "scene to build the world from: datacenter, demo, desktop, overload, stress (docs/architecture.md, Scenes)")
	f.StringVar(&journalPath, "journal", "", "feed the inputs of this journal (JSON lines) before their ticks")
	f.StringVar(&o.RecordPath, "record", "", "record every input fed into this journal file, for rayos replay")
	f.StringVar(&o.SnapshotPath, "snapshot", "", "write the final world (all entities and components) to this JSON file")
	f.StringVar(&attentionPath, "attention", "", "attention model weights (rayos train attention --out FILE) to pick unnamed targets with (default: the embedded weights); recorded in --record journals")
	f.StringVar(&o.Fabric, "fabric", o.Fabric, "where the demo world's devices come from: auto (this machine's /sys and GPU), scene (the scene's synthetic devices) or a fabric file (docs/fabric.md); bench scenes keep theirs")
	f.DurationVar(&o.ThermalSample, "thermal-sample", o.ThermalSample, "how often the host's temperature sensors are read into thermal inputs (0 disables)")
	f.StringVar(&o.FramePath, "frame", "", "write the last composed frame (1920×1080) to this PNG file")
	f.StringVar(&o.Display, "display", "", "show the composed frame on this Linux framebuffer device (/dev/fb0), updated from the compositor's damage; one that cannot be opened is a warning (docs/display.md)")
	f.StringVar(&o.InputDevices, "input-devices", "", "read keys, pointer motion and the power button from the Linux evdev devices (event*) of this folder, e.g. /dev/input (docs/input.md)")
	f.StringVar(&o.GPU, "gpu", gpu.ModeAuto, "compute backend: auto (a real GPU through Vulkan, else the Go CPU backend), vulkan (any Vulkan device, lavapipe too; refused, exit 1, when none opens), cpu")
	f.BoolVar(&explain, "explain", false, "print the tick pipeline, in order, and exit")
	f.StringVar(&o.LibvirtSocket, "libvirt-socket", "", "attach the real hypervisor: libvirtd's unix socket (default: simulate guests)")
	f.StringVar(&o.LibvirtURI, "libvirt-uri", "qemu:///system", "libvirt connection URI: qemu:///system on a real host, test:///default in CI")
	f.StringVar(&o.ControlPath, "control", "", "control socket (default RAYOS_DATA/control.sock); rayos ctl talks to it")
	f.StringVar(&o.BootInfoPath, "bootinfo", "", "BootInfo hand-off file from the bootloader (default: rayos.bootinfo= on the kernel command line, else synthesised from --data)")
	f.StringVar(&o.Entry, "entry", "", "boot entry: normal, recovery (no guests, read-only policy) or previous (last known good); default: normal, or previous after 3 failed boots")
	f.StringVar(&o.DebugPanic, "debug-panic", "", "test hook: panic at before-ready or tick=N to exercise crash reports")
	_ = f.MarkHidden("debug-panic")
	vf.add(f, "", true)
	return cmd
}

// logLevel is the lowest level the default logger (set from --log-level)
// lets through.
func logLevel() slog.Level {
	ctx := context.Background()
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if slog.Default().Enabled(ctx, l) {
			return l
		}
	}
	return slog.LevelError
}

// explainPipeline prints the systems in order without booting anything.
func explainPipeline(cmd *cobra.Command) error {
	w := world.New(world.Config{Hz: world.DefaultHz, Scene: "demo"}, nil)
	policy.Install(w.ECS, policy.RestrictedPolicy("explain"))
	sched, _, err := boot.Assemble(w, gpu.NewCPU())
	if err != nil {
		return err
	}
	return sched.Explain(cmd.OutOrStdout())
}
