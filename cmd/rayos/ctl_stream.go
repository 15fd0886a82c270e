package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world/marker"
	"github.com/spf13/cobra"
)

func newCtlWatchCmd(f *ctlFlags) *cobra.Command {
	var kinds []string
	cmd := &cobra.Command{
		Use:   "watch [--kind PREFIX]… [PREFIX…]",
		Short: "Stream the markers a running RayOS emits, one per line, until interrupted",
		Long: `watch prints every marker line the running RayOS emits from now on —
the same lines as its stdout — until you interrupt it (Ctrl-C) or the reader
of its output goes away. With --kind (or PREFIX arguments) only the lines
starting with one of the prefixes are printed: a marker kind (RAYOS_GUEST,
RAYOS_AUDIT, …) optionally narrowed by fields (RAYOS_GUEST:linux).

Kinds: ` + strings.Join(guests.WatchKinds(), ", ") + `.

RayOS never waits for a watcher: one that falls more than 1024 lines behind
is cut off, and watch then exits 1 saying so. When RayOS shuts down the
stream ends after its RAYOS_BOOT:shutdown line and watch exits 0.`,
		Example: `  rayos ctl watch
  rayos ctl watch --kind RAYOS_GUEST --kind RAYOS_AUDIT
  rayos ctl watch RAYOS_GUEST:linux
  rayos ctl watch --kind RAYOS_POLICY_VIOLATION | tee violations.log`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return checkPrefixes(append(slices.Clone(kinds), args...))
		},
		ValidArgsFunction: completeKinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			prefixes := append(slices.Clone(kinds), args...)
			conn, r, err := f.watch(prefixes, time.Now().Add(f.timeout))
			if err != nil {
				return err
			}
			defer conn.Close()
			conn.SetReadDeadline(time.Time{}) // a stream: no deadline
			out := cmd.OutOrStdout()
			last := ""
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					if strings.HasPrefix(last, "RAYOS_BOOT:shutdown:") {
						return nil
					}
					return fmt.Errorf("control socket %s: the stream ended: RayOS stopped, or cut this watcher off (it fell more than %d lines behind)", f.socket(), guests.DefaultWatchQueue)
				}
				if _, err := io.WriteString(out, line); err != nil {
					return nil // the reader of our output went away (head, a closed pipe)
				}
				last = line
			}
		},
	}
	cmd.Flags().StringArrayVar(&kinds, "kind", nil, "print only lines starting with this prefix (a marker kind, optionally :FIELD…); repeatable")
	cmd.RegisterFlagCompletionFunc("kind", completeKinds)
	return cmd
}

// checkPrefixes refuses prefixes RayOS would refuse, naming the kinds.
func checkPrefixes(prefixes []string) error {
	for _, p := range prefixes {
		if !knownPrefix(p) {
			return usageError{fmt.Errorf("%q: not a marker prefix; want one of %s, optionally followed by :FIELD…", p, strings.Join(guests.WatchKinds(), ", "))}
		}
	}
	return nil
}

func knownPrefix(p string) bool {
	for _, k := range guests.WatchKinds() {
		if p == k || strings.HasPrefix(p, k+":") {
			return true
		}
	}
	return false
}

// watch opens a watching connection: once it returns, every marker
// emitted from then on comes on r (RayOS subscribes before it answers).
func (f *ctlFlags) watch(prefixes []string, deadline time.Time) (net.Conn, *bufio.Reader, error) {
	conn, err := f.dial()
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, strings.Join(append([]string{"watch"}, prefixes...), " ")+"\n"); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("control socket %s: %w", f.socket(), err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("control socket %s: no answer to watch: %w", f.socket(), err)
	}
	ack, err := marker.Parse(strings.TrimRight(line, "\r\n"))
	if err != nil || ack.Kind != marker.KindHostAck || ack.Fields[0] != "watch" {
		conn.Close()
		return nil, nil, fmt.Errorf("control socket %s: unexpected answer to watch: %q", f.socket(), strings.TrimSpace(line))
	}
	if ack.Fields[1] != "ok" {
		conn.Close()
		return nil, nil, fmt.Errorf("watch: %s", ack.Fields[2])
	}
	conn.SetWriteDeadline(time.Time{})
	return conn, r, nil
}

// guestConditionStates are the states guest=ID:STATE may name.
func guestConditionStates() []string {
	states := []string{"ready"}
	for _, n := range components.GuestStateNames {
		if n != "" {
			states = append(states, n)
		}
	}
	return states
}

// condition is one thing wait waits for.
type condition struct {
	text         string
	guest, state string // guest=ID:STATE
	prefix       string // marker=PREFIX
	met          bool
	evidence     string // what showed it held
	lastSeen     string // the latest relevant thing seen, for a timeout
}

// parseCondition reads guest=ID:STATE or marker=PREFIX[:FIELD…].
func parseCondition(text string) (*condition, error) {
	kind, rest, _ := strings.Cut(text, "=")
	c := &condition{text: text}
	switch kind {
	case "guest":
		id, state, ok := strings.Cut(rest, ":")
		if !ok || id == "" {
			return nil, usageError{fmt.Errorf("condition %q: want guest=ID:STATE, e.g. guest=linux:ready", text)}
		}
		if !slices.Contains(guestConditionStates(), state) {
			return nil, usageError{fmt.Errorf("condition %q: unknown state %q; want one of %s", text, state, strings.Join(guestConditionStates(), ", "))}
		}
		c.guest, c.state = id, state
	case "marker":
		if !knownPrefix(rest) {
			return nil, usageError{fmt.Errorf("condition %q: want marker=PREFIX where PREFIX starts with one of %s", text, strings.Join(guests.WatchKinds(), ", "))}
		}
		c.prefix = rest
	default:
		return nil, usageError{fmt.Errorf("condition %q: unknown kind %q; want guest=ID:STATE (states: %s) or marker=PREFIX[:FIELD…]", text, kind, strings.Join(guestConditionStates(), ", "))}
	}
	return c, nil
}

// observe checks a streamed marker line against c.
func (c *condition) observe(line string) {
	if c.met {
		return
	}
	if c.prefix != "" {
		if strings.HasPrefix(line, c.prefix) {
			c.met, c.evidence = true, line
		}
		return
	}
	m, err := marker.Parse(line)
	if err != nil || m.Kind != marker.KindGuest || m.Fields[0] != c.guest {
		return
	}
	c.lastSeen = line
	if m.Fields[1] == c.state {
		c.met, c.evidence = true, line
	}
}

func newCtlWaitCmd(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONDITION… [--timeout 60s]",
		Short: "Wait until every condition holds (as kubectl wait): guest=ID:STATE, marker=PREFIX",
		Long: `wait blocks until each CONDITION has held at some moment since wait began,
then prints one line per condition saying what showed it, and exits 0. If
--timeout (default 60s) passes first it exits 1 and says what it last saw;
bad usage (an unknown condition kind or state) exits 2.

Conditions:
  guest=ID:STATE          the guest is in STATE (` + strings.Join(guestConditionStates(), ", ") + `);
                          ready: it signalled readiness and still runs
  marker=PREFIX[:FIELD…]  a marker line starting with PREFIX is emitted
                          (matched against the line as printed, in which a
                          ':' inside a field reads %3A)

No race: wait first subscribes to the marker stream (as rayos ctl watch),
then asks RayOS for the guests' current states, then reads the stream, so a
change that happens while it starts is never missed. A guest condition that
already holds returns at once; a marker condition waits for a marker
emitted after wait began.`,
		Example: `  rayos ctl start linux && rayos ctl wait guest=linux:ready --timeout 2m
  rayos ctl wait guest=windows:presented guest=linux:stopped
  rayos ctl wait marker=RAYOS_AUDIT:policy-reloaded --timeout 10s
  rayos ctl wait marker=RAYOS_GUEST:linux:crashed || echo "no crash"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("wait needs a CONDITION: guest=ID:STATE or marker=PREFIX (see rayos ctl wait --help)")}
			}
			if err := f.check(); err != nil {
				return err
			}
			for _, a := range args {
				if _, err := parseCondition(a); err != nil {
					return err
				}
			}
			return nil
		},
		ValidArgsFunction: completeConditions(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.wait(cmd, args)
		},
	}
}

// wait is rayos ctl wait: subscribe, read the current states, then the
// stream, until every condition has held.
func (f *ctlFlags) wait(cmd *cobra.Command, args []string) error {
	start := time.Now()
	deadline := start.Add(f.timeout)
	var conds []*condition
	var prefixes []string
	for _, a := range args {
		c, _ := parseCondition(a) // checked by Args
		conds = append(conds, c)
		p := "RAYOS_GUEST"
		if c.prefix != "" {
			// The kind only: a prefix may hold spaces, which the watch
			// request line cannot; the rest is matched here.
			p, _, _ = strings.Cut(c.prefix, ":")
		}
		if !slices.Contains(prefixes, p) {
			prefixes = append(prefixes, p)
		}
	}
	conn, r, err := f.watch(prefixes, deadline)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Subscribed: now the current state, then every change after it.
	states, err := f.status(deadline)
	if err != nil {
		return err
	}
	for _, c := range conds {
		if c.guest == "" {
			continue
		}
		i := slices.IndexFunc(states, func(g GuestJSON) bool { return g.ID == c.guest })
		if i < 0 {
			var ids []string
			for _, g := range states {
				ids = append(ids, g.ID)
			}
			return usageError{fmt.Errorf("condition %q: RayOS has no guest %q (it has: %s)", c.text, c.guest, strings.Join(ids, ", "))}
		}
		g := states[i]
		c.lastSeen = "status " + g.ID + "=" + g.State
		if g.Ready {
			c.lastSeen += ",ready"
		}
		if g.State == c.state || c.state == "ready" && g.Ready {
			c.met, c.evidence = true, c.lastSeen
		}
	}
	out := cmd.OutOrStdout()
	for {
		if !slices.ContainsFunc(conds, func(c *condition) bool { return !c.met }) {
			for _, c := range conds {
				fmt.Fprintf(out, "%s met: %s\n", c.text, c.evidence)
			}
			return nil
		}
		line, err := r.ReadString('\n')
		if err != nil {
			var why string
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				why = fmt.Sprintf("timed out after %v", f.timeout)
			default:
				why = "RayOS closed the connection (it stopped, or cut this watcher off)"
			}
			var lines []string
			for _, c := range conds {
				if c.met {
					continue
				}
				seen := c.lastSeen
				if seen == "" {
					seen = "nothing matching"
				}
				lines = append(lines, fmt.Sprintf("%s not met (last seen: %s)", c.text, seen))
			}
			return fmt.Errorf("wait: %s: %s", why, strings.Join(lines, "; "))
		}
		line = strings.TrimRight(line, "\r\n")
		for _, c := range conds {
			c.observe(line)
		}
	}
}

// status asks for every guest's state on a connection of its own.
func (f *ctlFlags) status(deadline time.Time) ([]GuestJSON, error) {
	conn, err := f.dial()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	s := &ctlSession{conn: conn, r: bufio.NewReader(conn), control: f.socket(), timeout: f.timeout}
	if err := s.send("status"); err != nil {
		return nil, err
	}
	ack, err := s.awaitAck(func(confirmNotice) error { return nil })
	if err != nil {
		return nil, err
	}
	if ack.Fields[0] != "status" || ack.Fields[1] != "ok" {
		return nil, fmt.Errorf("status: %s", ack.String())
	}
	return parseStatus(ack.Fields[2])
}
