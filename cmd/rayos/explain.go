package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/world/marker"
	"github.com/spf13/cobra"
)

func newExplainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Explain the world's decisions: why a task is placed where it is",
		Args:  exactArgs(0, "a subcommand: placement"),
	}
	cmd.AddCommand(newExplainPlacementCmd())
	return cmd
}

func newExplainPlacementCmd() *cobra.Command {
	var f ctlFlags
	var snapshot, output string
	cmd := &cobra.Command{
		Use:   "placement TASK",
		Short: "Why a compute task runs where it runs: its cost terms, the runner-up, its last move and why",
		Long: `placement weighs TASK against every device with the place kernel's cost terms
(locality + load + thermal + energy + priority; lowest wins, docs/scheduling.md)
and prints where it is and what it costs there, the best other device that would
take it (the runner-up) and what it would cost, and its last move with the reason
(placed, cheaper, overload, thermal, policy, device-gone).

TASK is a task's name (a guest's vCPU: linux/vcpu0, linux/emulator) or an entity
id (1234, or 1234:GEN). It asks a running RayOS over its control socket (the
world as it stands between two ticks), or reads a snapshot (rayos boot
--snapshot) with --snapshot, weighed with the default cost weights. Exit 0, 1
when there is no such task or no RayOS, 2 on bad usage.`,
		Example: `  rayos explain placement linux/vcpu0
  rayos explain placement 1234 --data /var/rayos -o json | jq .runner_up
  rayos boot --ticks 300 --snapshot world.json && rayos explain placement linux/vcpu0 --snapshot world.json`,
		Args: exactArgs(1, "TASK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output %q: want text or json", output)}
			}
			if err := f.check(); err != nil {
				return err
			}
			if _, err := requestLine(args); err != nil || strings.ContainsAny(args[0], " \t") {
				return usageError{fmt.Errorf("TASK %q: want one word, a task name or an entity id", args[0])}
			}
			var r boot.PlacementReport
			var err error
			if snapshot != "" {
				r, err = boot.ExplainSnapshot(snapshot, args[0])
			} else {
				r, err = f.explain(args[0])
			}
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "./rayos-data", "RAYOS_DATA of the running RayOS (its control.sock)")
	fl.StringVar(&f.control, "control", "", "control socket path (overrides --data)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for the answer")
	fl.StringVar(&snapshot, "snapshot", "", "explain from this snapshot file instead of a running RayOS")
	fl.StringVarP(&output, "output", "o", "text", "text (for people) or json (the whole report)")
	return cmd
}

// explain asks the running RayOS: one request, one ACK whose detail is
// the report.
func (f *ctlFlags) explain(task string) (boot.PlacementReport, error) {
	conn, err := f.dial()
	if err != nil {
		return boot.PlacementReport{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(f.timeout))
	if _, err := fmt.Fprintf(conn, "explain placement %s\n", task); err != nil {
		return boot.PlacementReport{}, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return boot.PlacementReport{}, fmt.Errorf("control socket %s: no answer: %w", f.socket(), err)
	}
	m, err := marker.Parse(strings.TrimSuffix(line, "\n"))
	if err != nil || m.Kind != marker.KindHostAck || m.Fields[0] != "explain" {
		return boot.PlacementReport{}, fmt.Errorf("control socket %s: unexpected answer %q", f.socket(), line)
	}
	if m.Fields[1] != "ok" {
		return boot.PlacementReport{}, errors.New(m.Fields[2])
	}
	var r boot.PlacementReport
	if err := json.Unmarshal([]byte(m.Fields[2]), &r); err != nil {
		return boot.PlacementReport{}, fmt.Errorf("control socket %s: the report does not parse: %w", f.socket(), err)
	}
	return r, nil
}
