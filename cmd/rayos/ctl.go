package main

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/rayos/engine/world/marker"
	"github.com/spf13/cobra"
)

func newCtlCmd() *cobra.Command {
	var data, control string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ctl OP [ARGS…]",
		Short: "Send one request to a running RayOS over its control socket and print the ACK",
		Long: `ctl is the client of the control socket (the v0 host bridge). It sends one
request line and prints the RAYOS_HOST_ACK that answers it, once the request's
effect completed or failed; it exits 0 on ok and 1 on err.

Requests:
  start VM | present VM | hide VM | shutdown VM | suspend VM | resume VM
  type VM TEXT… | press VM KEY | mouse VM X Y | click VM [left|right|middle]
  status [VM]

Every request goes through the policy like any other intent: input reaches a
guest only while it is presented and the policy allows that input kind.`,
		Example: `  rayos ctl start linux
  rayos ctl present linux
  rayos ctl type linux hello world
  rayos ctl press linux enter
  rayos ctl status`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("ctl needs an OP (see rayos ctl --help)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if control == "" {
				control = filepath.Join(data, "control.sock")
			}
			c, err := net.DialTimeout("unix", control, 5*time.Second)
			if err != nil {
				return fmt.Errorf("control socket %s: %w (is rayos boot running?)", control, err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(timeout))
			if _, err := fmt.Fprintln(c, strings.Join(args, " ")); err != nil {
				return fmt.Errorf("control socket %s: %w", control, err)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return fmt.Errorf("control socket %s: no answer within %v: %w", control, timeout, err)
			}
			line = strings.TrimRight(line, "\n")
			fmt.Fprintln(cmd.OutOrStdout(), line)
			m, err := marker.Parse(line)
			if err != nil || m.Kind != marker.KindHostAck {
				return fmt.Errorf("unexpected answer %q", line)
			}
			if m.Fields[1] != "ok" {
				return fmt.Errorf("%s: %s", m.Fields[0], m.Fields[2])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "./rayos-data", "RAYOS_DATA of the running RayOS (its control.sock)")
	cmd.Flags().StringVar(&control, "control", "", "control socket path (overrides --data)")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for the ACK")
	return cmd
}
