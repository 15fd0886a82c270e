package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/policy"
	"github.com/spf13/cobra"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check a policy file, or explain what it decides",
		Long: `The policy (RAYOS_DATA/policy/rayos-policy.toml, schema in docs/policy.md)
decides every intent that touches a guest: allow, deny or ask for
confirmation, always naming the deciding rule. Anything it does not allow
is denied.`,
	}
	cmd.AddCommand(newPolicyCheckCmd(), newPolicyExplainCmd())
	return cmd
}

func newPolicyCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE...",
		Short: "Validate policy files; every problem is listed with file, line and key",
		Example: `  rayos policy check rayos-data/policy/rayos-policy.toml
  rayos policy check new-policy.toml && mv new-policy.toml rayos-data/policy/rayos-policy.toml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("policy check needs at least one FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var failed []string
			for _, path := range args {
				p, err := policy.LoadFile(path)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					failed = append(failed, path)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s)\n", path, p.Summary())
			}
			if len(failed) > 0 {
				return fmt.Errorf("invalid policy: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
}

func newPolicyExplainCmd() *cobra.Command {
	var file, data, guest, action string
	var confidence float32
	var presented bool
	var output string
	cmd := &cobra.Command{
		Use:   "explain --guest ID --action ACTION",
		Short: "Print what the policy decides for one guest and action, and the deciding rule",
		Example: `  rayos policy explain --guest linux --action present
  rayos policy explain --guest linux --action type --presented
  rayos policy explain --guest windows --action start --confidence 0.5 --policy my-policy.toml
  rayos policy explain --guest linux --action present -o json`,
		Args: exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a := components.IntentAction(0)
			var names []string
			for i, n := range components.IntentActionNames[:components.LastGoverned+1] {
				if n != "" {
					names = append(names, n)
				}
				if n != "" && n == action {
					a = components.IntentAction(i)
				}
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			if a == 0 {
				return usageError{fmt.Errorf("--action %q: want one of %s", action, strings.Join(names, ", "))}
			}
			if guest == "" {
				return usageError{errors.New("--guest is required")}
			}
			// Written so that NaN fails too: every comparison with NaN is
			// false, and a NaN confidence once explained as allow.
			if !(confidence >= 0 && confidence <= 1) {
				return usageError{fmt.Errorf("--confidence %v: want a number in [0, 1]", confidence)}
			}
			if file == "" {
				file = filepath.Join(data, "policy", "rayos-policy.toml")
			}
			p, err := policy.LoadFile(file)
			if err != nil {
				// What the runtime does with this file: deny everything.
				p = policy.RestrictedPolicy(err.Error())
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), explainJSON(p, guest, a, confidence, presented)) // ctl_json.go
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", p.Explain(guest, a, confidence, presented))
			if p.Guest(guest) < 0 && !p.Restricted {
				ids := slices.Sorted(maps.Keys(p.File.Guests))
				fmt.Fprintf(cmd.OutOrStdout(), "(the policy names the guests: %s)\n", strings.Join(ids, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "policy", "", "policy file (default: DATA/policy/rayos-policy.toml)")
	f.StringVar(&data, "data", "./rayos-data", "RAYOS_DATA whose policy to read when --policy is not given")
	f.StringVar(&guest, "guest", "", "guest id from the registry (linux, windows, …)")
	f.StringVar(&action, "action", "", "start, present, hide, shutdown, type, press, mouse, click, confirm, cancel, suspend, resume")
	f.Float32Var(&confidence, "confidence", 1, "confidence of the intent, in [0, 1]")
	f.BoolVar(&presented, "presented", false, "whether the guest is presented (input goes only to presented guests)")
	addOutputFlag(cmd, &output)
	return cmd
}
