package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/rayos/engine/boot/train"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train RayOS's models from journals",
		Long:  "Train fits a model's weights offline, from recorded or synthetic journals. The tick never trains.",
	}
	cmd.AddCommand(newTrainAttentionCmd())
	return cmd
}

func newTrainAttentionCmd() *cobra.Command {
	o := train.Options{Settings: train.DefaultSettings}
	cmd := &cobra.Command{
		Use:   "attention (--journal FILE [--labels FILE] | --synthetic N) --out FILE",
		Short: "Train the attention model that picks the guest an utterance means",
		Long: `Train attention replays a journal through the real pipeline, takes every
utterance the intent system weighed candidate guests for, and fits the
attention model's weights (gorgonia's autodiff, softmax cross-entropy) on
80% of them. It prints the held-out target accuracy of the trained model,
of the geometry-only baseline (gaze, nearness, dwell) and of choosing the
focused guest, and writes the weights file (docs/attention.md).

Labels: --labels FILE, or JOURNAL's companion <journal>.labels.jsonl
({"seq":N,"target":"linux"} per line); without one, they are derived
from what the user did (a choice not cancelled within 5 s is right; a
cancel followed by a request naming a guest labels that guest).

--synthetic N generates a journal of N staged utterances instead (seeded
by --seed; --keep-journal DIR keeps it and its labels). The embedded
default weights are exactly what the first example writes.`,
		Example: `  # the default weights (systems/intent/model/default-weights.json):
  rayos train attention --synthetic 600 --seed 1 --out default-weights.json

  # from a recorded session, labels derived from what the user did:
  rayos boot --record session.jsonl
  rayos train attention --journal session.jsonl --out weights.json

  # keep the synthetic journal to replay or view it:
  rayos train attention --synthetic 200 --keep-journal ./synthetic --out /tmp/w.json
  rayos view ./synthetic/synthetic-200-seed1.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case (o.Synthetic > 0) == (o.Journal != ""):
				return usageError{fmt.Errorf("give exactly one of --journal FILE or --synthetic N")}
			case o.Synthetic < 0 || o.Synthetic > 1_000_000:
				return usageError{fmt.Errorf("--synthetic %d: want 1..1000000 utterances", o.Synthetic)}
			case o.Labels != "" && o.Journal == "":
				return usageError{fmt.Errorf("--labels goes with --journal (a synthetic journal makes its own)")}
			case o.Out == "":
				return usageError{fmt.Errorf("--out FILE is required: where the weights go")}
			case o.Settings.Epochs < 1 || o.Settings.Epochs > 100_000:
				return usageError{fmt.Errorf("--epochs %d: want 1..100000", o.Settings.Epochs)}
			}
			if err := checkOutDir(o.Out); err != nil {
				return usageError{fmt.Errorf("--out: %w", err)}
			}
			o.Command = trainCommandLine(cmd)
			o.Report = cmd.OutOrStdout()
			if isTerminal(cmd.ErrOrStderr()) {
				bars := map[string]*progressbar.ProgressBar{}
				o.Progress = func(stage string, done, total int) {
					bar := bars[stage]
					if bar == nil {
						bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(cmd.ErrOrStderr()),
							progressbar.OptionSetDescription(stage), progressbar.OptionClearOnFinish())
						bars[stage] = bar
					}
					bar.Set(done)
				}
			}
			_, _, err := train.Attention(o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Journal, "journal", "", "journal to train on (docs/journal.md)")
	f.StringVar(&o.Labels, "labels", "", "labels file for --journal (default: <journal>.labels.jsonl if present, else derived)")
	f.IntVar(&o.Synthetic, "synthetic", 0, "generate a synthetic journal of N labelled utterances and train on it")
	f.StringVar(&o.KeepJournal, "keep-journal", "", "folder that keeps the synthetic journal and its labels")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the synthetic journal and of the held-out split")
	f.Float64Var(&o.Heldout, "heldout", 0.2, "share of utterances held out for evaluation")
	f.IntVar(&o.Settings.Epochs, "epochs", train.DefaultSettings.Epochs, "full-batch Adam epochs")
	f.StringVarP(&o.Out, "out", "o", "", "weights file to write (crash-safe)")
	return cmd
}

// trainCommandLine is the command as the weights file records it: the
// flags given, without the output path (the same training writes the same
// bytes wherever it writes them).
func trainCommandLine(cmd *cobra.Command) string {
	parts := []string{"rayos train attention"}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "out" && f.Name != "keep-journal" {
			parts = append(parts, "--"+f.Name+" "+f.Value.String())
		}
	})
	return strings.Join(parts, " ")
}

func checkOutDir(path string) error {
	st, err := os.Stat(path)
	if err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	return nil
}
