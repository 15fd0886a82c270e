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
			ark := "unknown"
			if info, ok := debug.ReadBuildInfo(); ok {
				for _, dep := range info.Deps {
					if dep.Path == "github.com/mlange-42/ark" {
						ark = dep.Version
					}
				}
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "rayos %s (%s %s/%s, ark %s)\n", boot.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, ark)
			return err
		},
	}
}
