package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/rayos/engine/boot/pid1"
	"github.com/spf13/cobra"
)

// usageError marks errors in how rayos was called (exit status 2).
type usageError struct{ error }

// exitStatus makes rayos exit with the status of what it ran (rayos
// image boot: the runtime's inside the machine).
type exitStatus struct{ code int }

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	if os.Getpid() == 1 {
		// The initramfs's /init: set up the machine and run the runtime
		// as a child (boot/pid1); never returns.
		pid1.Main()
	}
	root := newRoot()
	if err := root.Execute(); err != nil {
		var st exitStatus
		if errors.As(err, &st) {
			os.Exit(st.code) // the status of something rayos ran, already reported
		}
		fmt.Fprintf(os.Stderr, "rayos: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", commandPath(root))
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func commandPath(root *cobra.Command) string {
	cmd, _, err := root.Find(os.Args[1:])
	if err != nil || cmd == nil {
		return root.Name()
	}
	return cmd.CommandPath()
}

func newRoot() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "rayos",
		Short: "RayOS engine: the control plane of a host OS that runs Linux and Windows as managed guests",
		Long: `RayOS keeps its whole control plane — display surfaces, guest VMs, input,
gaze attention rays, compute tasks and their placements — in one ECS world,
and advances it one tick at a time through a fixed pipeline of systems.

Markers (one stable line each, documented in docs/markers.md) go to stdout;
diagnostics go to stderr.

Environment:
  RAYOS_DATA  the RAYOS_DATA folder for every subcommand with a --data flag
              (boot, ctl, repl, explain, volume, guest, policy explain) when
              --data is not given; --data wins over it. Neither may be empty.`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)}
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			return dataFromEnv(cmd)
		},
	}
	// A subcommand that adds its own PersistentPreRunE must not skip the
	// root's: that is where --data learns RAYOS_DATA.
	cobra.EnableTraverseRunHooks = true
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "diagnostics level on stderr: debug, info, warn, error")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newBootCmd(), newReplayCmd(), newViewCmd(), newCtlCmd(), newPolicyCmd(), newGuestCmd(), newBenchCmd(), newTrainCmd(), newReplCmd(), newExplainCmd(), newVolumeCmd(), newImageCmd(), newVersionCmd())
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.SetFlagErrorFunc(root.FlagErrorFunc())
		f := c.Flags().Lookup(dataFlag)
		if f == nil {
			f = c.PersistentFlags().Lookup(dataFlag)
		}
		if f != nil && !strings.Contains(f.Usage, "$"+dataEnv) {
			f.Usage += " (default: $" + dataEnv + " when set)"
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	registerCompletions(root) // completion.go
	return root
}

// dataFlag is the flag that names RAYOS_DATA, in every subcommand that has
// one; dataEnv is the environment variable that stands in for it.
const (
	dataFlag = "data"
	dataEnv  = "RAYOS_DATA"
)

// dataFromEnv fills --data from RAYOS_DATA when the user did not give it,
// once for every subcommand, and refuses an empty folder name from either:
// an empty RAYOS_DATA resolved to the current folder, where boot then
// overwrote the policy and the registry.
func dataFromEnv(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup(dataFlag)
	if f == nil {
		return nil
	}
	if f.Changed {
		if strings.TrimSpace(f.Value.String()) == "" {
			return usageError{fmt.Errorf("--%s is empty: name the RAYOS_DATA folder (or leave --%s out for $%s, else %s)", dataFlag, dataFlag, dataEnv, f.DefValue)}
		}
		return nil
	}
	v, ok := os.LookupEnv(dataEnv)
	if !ok {
		return nil
	}
	if strings.TrimSpace(v) == "" {
		return usageError{fmt.Errorf("%s is set but empty: name the RAYOS_DATA folder, or unset it for --%s's default %s", dataEnv, dataFlag, f.DefValue)}
	}
	if err := f.Value.Set(v); err != nil {
		return usageError{fmt.Errorf("%s=%q: %w", dataEnv, v, err)}
	}
	return nil
}

// exactArgs is cobra.ExactArgs with an error that counts as bad usage.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s) (%s), got %d: %s", cmd.CommandPath(), n, what, len(args), strings.Join(args, " "))}
		}
		return nil
	}
}
