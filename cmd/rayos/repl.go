package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chzyer/readline"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world/marker"
	"github.com/spf13/cobra"
)

// replHistoryLines bounds the history file.
const replHistoryLines = 1000

// replActions are the words the REPL completes first; targets follow.
// "press" is left out so that pres<Tab> completes to present, the far
// more common word (press is typed out: press ctrl+alt+delete).
var replActions = []string{"start", "present", "show", "hide", "shutdown", "suspend", "resume", "type", "click", "confirm", "cancel", "status", "pending", "help", "quit", "exit", ":raw"}

func newReplCmd() *cobra.Command {
	f := &ctlFlags{}
	cmd := &cobra.Command{
		Use:   "repl",
		Short: "Talk to a running RayOS in plain words, one line at a time",
		Long: `repl connects once to the control socket of a running RayOS and reads
lines with editing, history (RAYOS_DATA/repl_history, the last 1000 lines)
and tab completion of actions and of the guests RayOS has. Each line is
sent as an utterance (as rayos ctl say): RayOS resolves it into an intent —
action, target, confidence — decides it under the policy and answers. The
REPL prints, for each line:

  intent  present linux  confidence=0.97 parse=1.00 attention=0.97
  policy  waits for confirmation (rule guests.linux.confirm): say confirm or cancel
  ok      presented          (or: err  denied by policy rule input.presented)

REPL commands:
  help                 this list
  quit, exit, Ctrl-D   leave (exit status 0)
  confirm, cancel      answer this REPL's own latest request that waits for
                       confirmation (another client's are never touched);
                       confirm ID / cancel ID for a given one
  :raw OP [ARGS…]      send a request line as rayos ctl would (:raw status)

A request that gets no answer within --timeout is given up on (the REPL
says so and goes on); if RayOS goes away the REPL says so and exits 1.`,
		Example: `  rayos repl
  rayos repl --data /var/lib/rayos
  printf 'start linux\nshow the linux desktop\n' | rayos repl`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := exactArgs(0, "none")(cmd, args); err != nil {
				return err
			}
			return f.check()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := f.dial()
			if err != nil {
				return err
			}
			r := &repl{f: f, conn: conn, lines: make(chan string, 64), out: cmd.OutOrStdout()}
			go r.read()
			defer conn.Close()
			return r.run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "./rayos-data", "RAYOS_DATA of the running RayOS (its control.sock; the history file)")
	fl.StringVar(&f.control, "control", "", "control socket path (overrides --data)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for each answer")
	return cmd
}

// repl is one session: one connection, its answers read by read() into
// lines (closed when RayOS closes the connection).
type repl struct {
	f     *ctlFlags
	conn  net.Conn
	lines chan string
	out   io.Writer
	// waiting are the requests sent and not yet answered, oldest first;
	// answers come in that order. confirm marks one the policy holds.
	waiting []*replRequest
}

type replRequest struct {
	line    string
	confirm bool
}

func (r *repl) read() {
	sc := bufio.NewScanner(r.conn)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		r.lines <- sc.Text()
	}
	close(r.lines)
}

var errReplGone = errors.New("RayOS closed the connection (it stopped, or the control socket went away)")

func (r *repl) run(cmd *cobra.Command) error {
	targets := r.targets()
	cfg := &readline.Config{
		Prompt:          "rayos> ",
		AutoComplete:    replCompleter(targets),
		HistoryLimit:    replHistoryLines,
		InterruptPrompt: "^C",
		EOFPrompt:       "",
		Stdout:          cmd.OutOrStdout(),
		Stderr:          cmd.ErrOrStderr(),
	}
	if info, err := os.Stat(r.f.data); err == nil && info.IsDir() {
		cfg.HistoryFile = filepath.Join(r.f.data, "repl_history")
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return err
	}
	defer rl.Close()
	r.out = rl.Stdout()
	fmt.Fprintf(r.out, "connected to %s; guests: %s. Type help for help, Ctrl-D to leave.\n", r.f.socket(), strings.Join(targets, ", "))
	for {
		text, err := rl.Readline()
		switch {
		case errors.Is(err, readline.ErrInterrupt):
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		text = strings.TrimSpace(text)
		word, rest, _ := strings.Cut(text, " ")
		var request string
		switch word {
		case "":
			continue
		case "help", "?":
			fmt.Fprint(r.out, replHelp)
			continue
		case "quit", "exit":
			return nil
		case ":raw":
			request = strings.TrimSpace(rest)
			if request == "" {
				fmt.Fprintln(r.out, "usage: :raw OP [ARGS…], e.g. :raw status")
				continue
			}
		case "confirm", "cancel":
			request = text // this connection's own request when no ID is given
		default:
			request = "say " + text
		}
		if why := replRefusal(request); why != "" {
			fmt.Fprintln(r.out, "refused: "+why+" (nothing was sent)")
			continue
		}
		if err := r.exchange(request); err != nil {
			if errors.Is(err, errReplGone) {
				fmt.Fprintln(r.out, "rayos repl: "+err.Error())
				return err
			}
			fmt.Fprintln(r.out, "rayos repl: "+err.Error())
		}
	}
}

// replRefusal says why a line cannot be a request, before it is sent.
func replRefusal(line string) string {
	switch {
	case !utf8.ValidString(line):
		return "the line is not UTF-8 text"
	case strings.ContainsFunc(line, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }):
		return "the line has control characters"
	case len(line) > guests.MaxControlLine:
		return fmt.Sprintf("the line is %d bytes; RayOS takes at most %d", len(line), guests.MaxControlLine)
	}
	return ""
}

// exchange sends one request and prints what comes back until it is
// answered, or until every request still unanswered waits for a
// confirmation (the prompt comes back so that it can be given).
func (r *repl) exchange(line string) error {
	r.conn.SetWriteDeadline(time.Now().Add(r.f.timeout))
	if _, err := io.WriteString(r.conn, line+"\n"); err != nil {
		return errReplGone
	}
	r.waiting = append(r.waiting, &replRequest{line: line})
	timeout := time.After(r.f.timeout)
	for {
		if !r.busy() {
			return nil
		}
		select {
		case l, ok := <-r.lines:
			if !ok {
				return errReplGone
			}
			r.show(l)
		case <-timeout:
			return fmt.Errorf("no answer within %v to %q; still waiting for it in the background", r.f.timeout, line)
		}
	}
}

// busy: some request is waiting for its answer and not for a confirmation.
func (r *repl) busy() bool {
	for _, w := range r.waiting {
		if !w.confirm {
			return true
		}
	}
	return false
}

// show prints one line from RayOS in the REPL's words.
func (r *repl) show(line string) {
	m, err := marker.Parse(line)
	if err != nil {
		fmt.Fprintln(r.out, line)
		return
	}
	switch {
	case m.Kind == marker.KindIntent:
		// <source>:<action>:<target>:<detail>
		target := m.Fields[2]
		if target == "-" {
			target = ""
		}
		detail, sources := m.Fields[3], ""
		if m.Fields[1] == "recall" {
			// The sources get a line of their own: headings are long.
			detail, sources, _ = strings.Cut(detail, " sources=")
		}
		fmt.Fprintf(r.out, "intent  %s %s  %s\n", m.Fields[1], target, detail)
		if sources != "" && sources != "-" {
			fmt.Fprintf(r.out, "        from %s\n", sources)
		}
	case m.Kind == marker.KindAudit && m.Fields[0] == "policy-confirm":
		n := parseConfirmNotice(m.Fields[1])
		for _, w := range r.waiting {
			if !w.confirm {
				w.confirm = true // notices come in request order: the oldest unanswered
				break
			}
		}
		fmt.Fprintf(r.out, "policy  %s waits for confirmation (rule %s): type confirm or cancel\n", n.what(), n.rule)
	case m.Kind == marker.KindHostAck:
		if len(r.waiting) > 0 {
			r.waiting = r.waiting[1:]
		}
		status := "ok  "
		if m.Fields[1] != "ok" {
			status = "err "
		}
		if m.Fields[0] == "recall" && m.Fields[1] == "ok" {
			showPassages(r.out, m.Fields[2])
			return
		}
		fmt.Fprintf(r.out, "%s    %s: %s\n", status, m.Fields[0], m.Fields[2])
	default:
		fmt.Fprintln(r.out, line)
	}
}

// showPassages prints a recall's ACK detail — passages "file › heading
// (score) — text" joined with " | " — one passage a paragraph: where it
// comes from and its score, then its first words.
func showPassages(out io.Writer, detail string) {
	if !strings.Contains(detail, " — ") {
		fmt.Fprintf(out, "ok      recall: %s\n", detail) // nothing found
		return
	}
	passages := strings.Split(detail, " | ")
	fmt.Fprintf(out, "ok      recall: %d passages\n", len(passages))
	for i, p := range passages {
		source, text, _ := strings.Cut(p, " — ")
		fmt.Fprintf(out, "        %d. %s\n           %s\n", i+1, source, text)
	}
}

// targets asks RayOS which guests it has, for completion; none if it
// does not answer.
func (r *repl) targets() []string {
	r.conn.SetWriteDeadline(time.Now().Add(r.f.timeout))
	if _, err := io.WriteString(r.conn, "status\n"); err != nil {
		return nil
	}
	select {
	case l, ok := <-r.lines:
		if !ok {
			return nil
		}
		if m, err := marker.Parse(l); err == nil && m.Kind == marker.KindHostAck && m.Fields[1] == "ok" {
			gs, _ := parseStatus(m.Fields[2])
			var ids []string
			for _, g := range gs {
				ids = append(ids, g.ID)
			}
			return ids
		}
	case <-time.After(r.f.timeout):
	}
	return nil
}

// replCompleter completes an action, then a target.
func replCompleter(targets []string) readline.AutoCompleter {
	var items []readline.PrefixCompleterInterface
	for _, a := range replActions {
		var sub []readline.PrefixCompleterInterface
		switch a {
		case "help", "quit", "exit", "confirm", "cancel", "pending":
		case ":raw":
			for _, op := range ctlOps() {
				sub = append(sub, readline.PcItem(op))
			}
		default:
			for _, t := range targets {
				sub = append(sub, readline.PcItem(t))
			}
		}
		items = append(items, readline.PcItem(a, sub...))
	}
	return readline.NewPrefixCompleter(items...)
}

const replHelp = `Say what you want in plain words, e.g.
  start linux            show the linux desktop     hide it
  type hello world       press ctrl+alt+delete      what is running?
  find my notes about the kernel (passages from the Volume, with their files)
REPL commands:
  confirm, cancel        answer your own request that waits for confirmation
  confirm ID, cancel ID  answer a given one (see :raw pending)
  :raw OP [ARGS…]        send a control request as rayos ctl would
  help                   this text
  quit, exit, Ctrl-D     leave
`
