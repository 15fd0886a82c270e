package main

import (
	"fmt"
	"strings"

	"github.com/rayos/engine/world/keys"
	"github.com/rayos/engine/world/marker"
	"github.com/spf13/cobra"
)

func newCtlSayCmd(f *ctlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "say UTTERANCE…",
		Short: "Say something in plain words; RayOS resolves it into an intent and acts through the policy",
		Long: `say sends one utterance ("show the linux desktop", "type hello world",
"what is running?") to the running RayOS. RayOS resolves it into an intent
envelope — an action, a target guest and a confidence — and decides it under
the policy like any other request. ctl prints, in order:

  RAYOS_INTENT:<source>:<action>:<target>:<detail>   how the words were understood
  RAYOS_HOST_ACK:<action>:<ok|err>:<detail>          what came of it

An utterance RayOS cannot resolve gets action "none" with a "did you mean …"
detail and an err ACK for op "say". Below the policy's confidence threshold
the intent asks for confirmation (as any request may): ctl says so on stderr,
or gives it itself with --confirm. Exit 0 on an ok ACK, 1 on err, 2 on bad
usage. The words are joined with single spaces into one request line.`,
		Example: `  rayos ctl say "show the linux desktop"
  rayos ctl say start windows
  rayos ctl say --confirm "shut down windows"
  rayos ctl say "what is running?"`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("say needs the words to say, e.g. rayos ctl say \"show the linux desktop\"")}
			}
			if err := f.check(); err != nil {
				return err
			}
			_, err := requestLine(append([]string{"say"}, args...))
			return err
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			line, _ := requestLine(append([]string{"say"}, args...))
			s, err := f.session(cmd)
			if err != nil {
				return err
			}
			defer s.conn.Close()
			s.notice = func(m marker.Marker) {
				if m.Kind == marker.KindIntent {
					fmt.Fprintln(s.stdout, m.String())
				}
			}
			return s.run(line, f.confirm)
		},
	}
}

func newCtlKeysCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keys",
		Short: "List the key names press takes (one per line)",
		Long: `keys lists every key name "rayos ctl press VM KEY" understands, one per
line. A chord joins names with "+" (ctrl+alt+delete); names are matched
without regard to case. It needs no running RayOS.`,
		Example: `  rayos ctl keys
  rayos ctl keys | grep -x f12 && rayos ctl press linux f12`,
		Args:              exactArgs(0, "none"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), strings.Join(keys.Names(), "\n"))
			return err
		},
	}
}
