package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world/marker"
	"github.com/spf13/cobra"
)

// ctlFlags are the flags every ctl subcommand shares: where the running
// RayOS is and how long to wait for it.
type ctlFlags struct {
	data, control string
	timeout       time.Duration
	confirm       bool
}

// socket is the control socket's path.
func (f *ctlFlags) socket() string {
	if f.control != "" {
		return f.control
	}
	return filepath.Join(f.data, "control.sock")
}

// dial connects to the control socket.
func (f *ctlFlags) dial() (net.Conn, error) {
	conn, err := net.DialTimeout("unix", f.socket(), 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w (is rayos boot running?)", f.socket(), err)
	}
	return conn, nil
}

// session connects and wraps the connection for one exchange of lines.
func (f *ctlFlags) session(cmd *cobra.Command) (*ctlSession, error) {
	conn, err := f.dial()
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(f.timeout))
	return &ctlSession{
		conn: conn, r: bufio.NewReader(conn), control: f.socket(), timeout: f.timeout,
		stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr(),
		again: ctlAgain(cmd, f.data, f.control),
	}, nil
}

func newCtlCmd() *cobra.Command {
	f := &ctlFlags{}
	var output string
	cmd := &cobra.Command{
		Use:   "ctl OP [ARGS…]",
		Short: "Send one request to a running RayOS over its control socket and print the ACK",
		Long: `ctl is the client of the control socket (the v0 host bridge). It sends one
request line and prints the RAYOS_HOST_ACK that answers it, once the request's
effect completed or failed; it exits 0 on ok, 1 on err and 2 on bad usage.

Requests:
  start VM | present VM | hide VM | shutdown VM | suspend VM | resume VM
  type VM TEXT… | press VM KEY | mouse VM X Y | click VM [left|right|middle]
  status [VM]        every guest's state (-o json: one JSON document)
  screenshot [FILE]  the composed frame as a PNG: written to
                     RAYOS_DATA/screenshots/tick-N.png (the ACK names it;
                     the newest 16 are kept) and copied to FILE if given
  pending            list the requests waiting for confirmation, with their ids
  confirm [ID]       allow a request waiting for confirmation
  cancel [ID]        refuse it
  (without ID, confirm and cancel act on your own latest waiting request,
  made over the same connection; from another shell, give the ID)

Subcommands (each has its own --help):
  say UTTERANCE…     plain words, resolved by RayOS into an intent
  watch [--kind K]   stream the markers as they are emitted
  wait CONDITION…    block until guest=ID:STATE or marker=PREFIX holds
  keys               the key names press takes

Every request goes through the policy like any other intent: input reaches a
guest only while it is presented and the policy allows that input kind. When
the policy asks for confirmation, ctl says so on stderr with the request's ID
and keeps waiting: confirm or cancel it from another shell, or pass --confirm
to confirm it yourself. Arguments are one line of text: control characters
(newlines included) are refused.`,
		Example: `  rayos ctl start linux
  rayos ctl present linux
  rayos ctl type linux hello world
  rayos ctl press linux ctrl+alt+delete
  rayos ctl status
  rayos ctl status -o json | jq -r '.guests[] | select(.state=="presented") | .id'
  rayos ctl screenshot screen.png
  rayos ctl say "show the linux desktop"
  rayos ctl wait guest=linux:ready --timeout 2m && rayos ctl present linux
  rayos ctl watch --kind RAYOS_GUEST

  # shutdown asks for confirmation under the default policy:
  rayos ctl shutdown linux            # waits; stderr names the ID to confirm
  rayos ctl pending                   # from another shell: 17 shutdown linux rule=… expires=…
  rayos ctl confirm 17                # or: rayos ctl cancel 17
  rayos ctl --confirm shutdown linux  # ask and confirm in one go`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("ctl needs an OP (see rayos ctl --help)")}
			}
			if err := f.check(); err != nil {
				return err
			}
			if args[0] == "screenshot" && len(args) > 2 {
				return usageError{fmt.Errorf("screenshot takes at most one FILE, got %d arguments", len(args)-1)}
			}
			switch output {
			case "", "text":
			case "json":
				if args[0] != "status" {
					return usageError{fmt.Errorf("--output json is for status (and rayos guest list, rayos policy explain); %s prints its ACK", args[0])}
				}
			default:
				return usageError{fmt.Errorf("--output %q: want text or json", output)}
			}
			_, err := requestLine(args)
			return err
		},
		ValidArgsFunction: completeCtlArgs(f),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, _ := requestLine(args) // checked by Args
			var copyTo string
			if args[0] == "screenshot" {
				// The request names no file: RayOS writes into RAYOS_DATA
				// only; ctl copies the result where it was asked to.
				line = "screenshot"
				if len(args) == 2 {
					copyTo = args[1]
				}
			}
			s, err := f.session(cmd)
			if err != nil {
				return err
			}
			defer s.conn.Close()
			if output == "json" {
				return s.statusJSON(line)
			}
			if err := s.run(line, f.confirm); err != nil || copyTo == "" {
				return err
			}
			return copyFile(s.shot, copyTo)
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.data, "data", "./rayos-data", "RAYOS_DATA of the running RayOS (its control.sock)")
	pf.StringVar(&f.control, "control", "", "control socket path (overrides --data)")
	pf.DurationVar(&f.timeout, "timeout", 60*time.Second, "how long to wait for the ACK (wait: for the conditions)")
	pf.BoolVar(&f.confirm, "confirm", false, "if the policy asks for confirmation, give it (on the same connection)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "status only: text (the ACK line) or json (one document: docs/control.md)")
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(newCtlSayCmd(f), newCtlWatchCmd(f), newCtlWaitCmd(f), newCtlKeysCmd())
	return cmd
}

// check refuses flag values no request could use.
func (f *ctlFlags) check() error {
	if f.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout %v: want a positive duration", f.timeout)}
	}
	return nil
}

// requestLine joins the arguments into the request line, refusing what
// would not arrive as one line of text: a newline in an argument would
// otherwise smuggle in a second request.
func requestLine(args []string) (string, error) {
	for i, a := range args {
		if !utf8.ValidString(a) {
			return "", usageError{fmt.Errorf("argument %d %q is not UTF-8 text", i+1, a)}
		}
		if j := strings.IndexFunc(a, unicode.IsControl); j >= 0 {
			r, _ := utf8.DecodeRuneInString(a[j:])
			return "", usageError{fmt.Errorf("argument %d %q contains a control character (%U); a request is one line of text", i+1, a, r)}
		}
	}
	line := strings.Join(args, " ")
	if strings.TrimSpace(line) == "" {
		return "", usageError{fmt.Errorf("the request is empty (see rayos ctl --help)")}
	}
	if len(line) > guests.MaxControlLine {
		return "", usageError{fmt.Errorf("the request is %d bytes; the control socket takes at most %d", len(line), guests.MaxControlLine)}
	}
	return line, nil
}

// ctlAgain is how to run ctl against the same RayOS, for the hint that
// names the confirm and cancel commands.
func ctlAgain(cmd *cobra.Command, data, control string) string {
	again := "rayos ctl"
	switch {
	case cmd.Flags().Changed("control"):
		again += " --control " + shellWord(control)
	case cmd.Flags().Changed("data"):
		again += " --data " + shellWord(data)
	}
	return again
}

// shellWord quotes a path for a command line a user may paste, unless it
// needs none.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._/-+,=@%", r))
	}) {
		return s
	}
	return strconv.Quote(s)
}

// ctlSession is one connection to the control socket.
type ctlSession struct {
	conn           net.Conn
	r              *bufio.Reader
	control        string
	timeout        time.Duration
	stdout, stderr io.Writer
	again          string // "rayos ctl" with the flags that reach this RayOS
	shot           string // the screenshot's path, from its ACK
	// notice, when set, gets the lines before an ACK other than a
	// confirmation request (say's RAYOS_INTENT lines).
	notice func(marker.Marker)
}

// copyFile copies the screenshot RayOS wrote to where ctl was asked to
// put it, through a temporary file in the same folder: an interrupted
// copy never leaves a half-written FILE.
func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", from, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".*")
	if err != nil {
		return fmt.Errorf("screenshot to %s: %w", to, err)
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), to)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("screenshot to %s: %w", to, werr)
	}
	return nil
}

// run sends line and prints its ACK; with confirm, a confirmation the
// policy asks for is given on the same connection, and the confirm's own
// ACK (which comes after the request's) is printed too.
func (s *ctlSession) run(line string, confirm bool) error {
	if err := s.send(line); err != nil {
		return err
	}
	confirming := false
	ack, err := s.awaitAck(func(n confirmNotice) error {
		if !confirm || confirming {
			fmt.Fprintf(s.stderr, "rayos ctl: %s waits for confirmation (rule %s): %s\n", n.what(), n.rule, n.howTo(s.again))
			return nil
		}
		confirming = true
		fmt.Fprintf(s.stderr, "rayos ctl: %s waits for confirmation (rule %s); confirming it (--confirm)\n", n.what(), n.rule)
		if n.source == "" {
			return s.send("confirm") // this connection's own latest waiting request: ours
		}
		return s.send("confirm " + n.source)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.stdout, ack.String())
	if ack.Fields[0] == "screenshot" {
		s.shot = ack.Fields[2]
	}
	// Answers come in request order on a connection: the first one is
	// ours. An ACK for another op means it is not, whatever it says (say's
	// ACK names the op the words resolved to).
	if op, _, _ := strings.Cut(line, " "); op != "say" && ack.Fields[0] != op && ack.Fields[0] != "?" {
		return fmt.Errorf("control socket %s: the answer is for a %q request, not this %q one", s.control, ack.Fields[0], op)
	}
	outcome := ackError(ack)
	if confirming {
		confirmAck, err := s.awaitAck(func(n confirmNotice) error { return nil })
		if err != nil {
			return err
		}
		fmt.Fprintln(s.stdout, confirmAck.String())
		outcome = errors.Join(outcome, ackError(confirmAck))
	}
	return outcome
}

func (s *ctlSession) send(line string) error {
	if _, err := io.WriteString(s.conn, line+"\n"); err != nil {
		return fmt.Errorf("control socket %s: %w", s.control, err)
	}
	return nil
}

// awaitAck reads lines until an ACK. Lines before it are notices about the
// request: a policy-confirm goes to onConfirm, others are skipped.
func (s *ctlSession) awaitAck(onConfirm func(confirmNotice) error) (marker.Marker, error) {
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return marker.Marker{}, fmt.Errorf("control socket %s: closed before the ACK", s.control)
			}
			return marker.Marker{}, fmt.Errorf("control socket %s: no answer within %v: %w", s.control, s.timeout, err)
		}
		line = strings.TrimRight(line, "\r\n")
		m, err := marker.Parse(line)
		switch {
		case err == nil && m.Kind == marker.KindHostAck:
			return m, nil
		case err == nil && m.Kind == marker.KindAudit && m.Fields[0] == "policy-confirm":
			if err := onConfirm(parseConfirmNotice(m.Fields[1])); err != nil {
				return marker.Marker{}, err
			}
		case err == nil && s.notice != nil:
			s.notice(m)
		default:
			slog.Debug("control socket: skipping a line before the ACK", "line", line)
		}
	}
}

// ackError is nil for an ok ACK and says what failed for an err one.
func ackError(ack marker.Marker) error {
	if ack.Fields[1] == "ok" {
		return nil
	}
	return fmt.Errorf("%s: %s", ack.Fields[0], ack.Fields[2])
}

// confirmNotice is what ctl needs from a policy-confirm notice.
type confirmNotice struct {
	action, guest, rule string
	source              string // the request id to confirm; "" when the notice has none
}

func (n confirmNotice) what() string {
	if n.guest == "" || n.guest == "-" {
		return n.action
	}
	return n.action + " " + n.guest
}

// howTo says which commands answer the confirmation.
func (n confirmNotice) howTo(ctl string) string {
	if n.source == "" {
		return fmt.Sprintf("run '%s pending' for its id, then '%s confirm ID' or '%s cancel ID'", ctl, ctl, ctl)
	}
	return fmt.Sprintf("run '%s confirm %s' or '%s cancel %s'", ctl, n.source, ctl, n.source)
}

// parseConfirmNotice reads "action=shutdown guest=linux confidence=1.00
// source=17 rule=guests.linux.confirm expires=3017"; a quoted value (an
// argument) may hold spaces and never ends the field list early.
func parseConfirmNotice(detail string) confirmNotice {
	fields := map[string]string{}
	for rest := strings.TrimSpace(detail); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || strings.Contains(key, " ") {
			break
		}
		value := after
		if q, err := strconv.QuotedPrefix(after); err == nil {
			value, rest = q, after[len(q):]
			if u, err := strconv.Unquote(q); err == nil {
				value = u
			}
		} else {
			value, rest, _ = strings.Cut(after, " ")
		}
		if _, seen := fields[key]; !seen {
			fields[key] = value
		}
	}
	n := confirmNotice{action: fields["action"], guest: fields["guest"], rule: fields["rule"], source: fields["source"]}
	if _, err := strconv.ParseUint(n.source, 10, 32); err != nil {
		n.source = "" // not an id ctl can pass on
	}
	return n
}
