package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/rayos/engine/boot"
	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of rayos, its Go toolchain and its ECS",
		Example: "  rayos version",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}

// versionLine is what `rayos version` and `rayos --version` print: the
// engine's version, the Go toolchain and platform, and the ECS it was
// built with (the world's layout and costs follow from ark's version).
func versionLine() string {
	ark := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/mlange-42/ark" {
				ark = dep.Version
			}
		}
	}
	return fmt.Sprintf("rayos %s (%s %s/%s, ark %s)", boot.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, ark)
}
