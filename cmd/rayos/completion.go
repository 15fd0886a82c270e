package main

import (
	"github.com/rayos/engine/boot"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/world/keys"
	"github.com/rayos/engine/world/scene"
	"github.com/spf13/cobra"
)

// Shell completion of values (rayos completion bash|zsh|fish): ctl ops,
// VM ids from the registry under --data, key names after press VM, wait's
// conditions, watch's kinds, scene names for --scene, boot entries for
// --entry, disk images (*.img) for rayos image boot.

// registerCompletions adds the value completions of flags that several
// commands share (--scene), walking every command under root.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("scene") != nil {
			c.RegisterFlagCompletionFunc("scene", cobra.FixedCompletions(scene.Names(), cobra.ShellCompDirectiveNoFileComp))
		}
		if c.Flags().Lookup("entry") != nil { // rayos boot, rayos image boot
			c.RegisterFlagCompletionFunc("entry", cobra.FixedCompletions(boot.Entries, cobra.ShellCompDirectiveNoFileComp))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// ctlOps are the requests ctl sends, in the order users meet them.
func ctlOps() []string {
	ops := []string{"start", "present", "hide", "shutdown", "suspend", "resume", "type", "press", "mouse", "click", "status", "pending", "confirm", "cancel", "screenshot"}
	for op := range bridge.Ops { // ops the bridge knows that the list above misses
		if !slices.Contains(ops, op) && op != "say" { // say is a subcommand
			ops = append(ops, op)
		}
	}
	return ops
}

// vmOps take a VM id as their first argument.
var vmOps = []string{"start", "present", "hide", "shutdown", "suspend", "resume", "type", "press", "mouse", "click", "status"}

// completionVMs are the registry's VM ids under the data folder the
// command line names (--data, else RAYOS_DATA, else the default); none
// when the registry cannot be read.
func completionVMs(cmd *cobra.Command) []string {
	data := "./rayos-data"
	if f := cmd.Flags().Lookup(dataFlag); f != nil {
		data = f.Value.String()
		if v, ok := os.LookupEnv(dataEnv); ok && !f.Changed && strings.TrimSpace(v) != "" {
			data = v
		}
	}
	r, err := guests.LoadRegistry(filepath.Join(data, "vm", "registry.toml"))
	if err != nil {
		return nil
	}
	return r.IDs()
}

// completeCtlArgs completes rayos ctl OP [VM [ARG]].
func completeCtlArgs(f *ctlFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		none := cobra.ShellCompDirectiveNoFileComp
		switch len(args) {
		case 0:
			return ctlOps(), none
		case 1:
			if args[0] == "screenshot" {
				return []string{"png"}, cobra.ShellCompDirectiveFilterFileExt
			}
			if slices.Contains(vmOps, args[0]) {
				return completionVMs(cmd), none
			}
		case 2:
			switch args[0] {
			case "press":
				return completeChord(toComplete), none
			case "click":
				return []string{"left", "right", "middle"}, none
			}
		}
		return nil, none
	}
}

// completeChord completes the last name of a chord (ctrl+alt+del…).
func completeChord(toComplete string) []string {
	head := ""
	if i := strings.LastIndex(toComplete, "+"); i >= 0 {
		head = toComplete[:i+1]
	}
	var out []string
	for _, k := range keys.Names() {
		out = append(out, head+k)
	}
	return out
}

// completeKinds completes the marker kinds watch takes.
func completeKinds(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return guests.WatchKinds(), cobra.ShellCompDirectiveNoFileComp
}

// completeConditions completes wait's conditions: guest=ID:STATE with the
// registry's ids and the states, and marker=KIND.
func completeConditions(f *ctlFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, id := range completionVMs(cmd) {
			for _, st := range guestConditionStates() {
				out = append(out, "guest="+id+":"+st)
			}
		}
		for _, k := range guests.WatchKinds() {
			out = append(out, "marker="+k)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
