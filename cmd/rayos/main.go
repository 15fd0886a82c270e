package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks errors in how rayos was called (exit status 2).
type usageError struct{ error }

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
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
diagnostics go to stderr.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)}
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "diagnostics level on stderr: debug, info, warn, error")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newBootCmd(), newReplayCmd(), newCtlCmd(), newPolicyCmd(), newGuestCmd(), newBenchCmd(), newVersionCmd())
	var setFlagErrors func(c *cobra.Command)
	setFlagErrors = func(c *cobra.Command) {
		c.SetFlagErrorFunc(root.FlagErrorFunc())
		for _, sub := range c.Commands() {
			setFlagErrors(sub)
		}
	}
	setFlagErrors(root)
	return root
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
