package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/policy"
	"github.com/spf13/cobra"
)

// StatusJSON is rayos ctl status -o json: a stable document (field names
// are part of the interface; docs/control.md).
type StatusJSON struct {
	OK     bool        `json:"ok"`
	Guests []GuestJSON `json:"guests"`
	// Error is the err ACK's detail; empty when ok.
	Error string `json:"error,omitempty"`
	// Ack is the line the text output prints.
	Ack string `json:"ack"`
}

// GuestJSON is one guest in a status answer.
type GuestJSON struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Ready bool   `json:"ready"`
}

// parseStatus reads a status ACK's detail, "linux=hidden,ready
// windows=stopped", into guests in the order given.
func parseStatus(detail string) ([]GuestJSON, error) {
	out := []GuestJSON{}
	for _, item := range strings.Fields(detail) {
		id, state, ok := strings.Cut(item, "=")
		if !ok || id == "" || state == "" {
			return nil, fmt.Errorf("status answer %q: %q is not ID=STATE", detail, item)
		}
		g := GuestJSON{ID: id, State: state}
		for {
			var flag string
			var more bool
			g.State, flag, more = strings.Cut(g.State, ",")
			if !more {
				break
			}
			if flag == "ready" {
				g.Ready = true
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// statusJSON sends a status request and prints its answer as JSON.
func (s *ctlSession) statusJSON(line string) error {
	if err := s.send(line); err != nil {
		return err
	}
	ack, err := s.awaitAck(func(confirmNotice) error { return nil })
	if err != nil {
		return err
	}
	doc := StatusJSON{OK: ack.Fields[1] == "ok", Guests: []GuestJSON{}, Ack: ack.String()}
	if ack.Fields[0] != "status" && ack.Fields[0] != "?" {
		return fmt.Errorf("control socket %s: the answer is for a %q request, not this status one", s.control, ack.Fields[0])
	}
	if doc.OK {
		if doc.Guests, err = parseStatus(ack.Fields[2]); err != nil {
			return err
		}
	} else {
		doc.Error = ack.Fields[2]
	}
	if err := printJSON(s.stdout, doc); err != nil {
		return err
	}
	return ackError(ack)
}

// printJSON writes one indented JSON document and a newline.
func printJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// checkOutput validates an --output value.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return usageError{fmt.Errorf("--output %q: want text or json", output)}
	}
	return nil
}

// addOutputFlag adds -o/--output text|json to a command.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "text", "text, or json: one JSON document with stable field names (docs/control.md)")
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// GuestListJSON is rayos guest list -o json.
type GuestListJSON struct {
	Guests []GuestEntryJSON `json:"guests"`
}

// GuestEntryJSON is one registry entry; the fields are the text table's
// columns.
type GuestEntryJSON struct {
	ID        string `json:"id"`
	OS        string `json:"os"`
	Autostart bool   `json:"autostart"`
	MemoryMiB int    `json:"memory_mib"`
	VCPUs     int    `json:"vcpus"`
	// Boot is what the guest boots from: "disk FILE", "kernel FILE" or "-".
	Boot string `json:"boot"`
}

func guestListJSON(r *guests.Registry, bootFrom func(guests.VM) string) GuestListJSON {
	doc := GuestListJSON{Guests: []GuestEntryJSON{}}
	for _, id := range r.IDs() {
		vm := r.VMs[id]
		doc.Guests = append(doc.Guests, GuestEntryJSON{ID: id, OS: vm.OS, Autostart: vm.Autostart, MemoryMiB: vm.MemoryMiB, VCPUs: vm.VCPUs, Boot: bootFrom(vm)})
	}
	return doc
}

// ExplainJSON is rayos policy explain -o json.
type ExplainJSON struct {
	Guest      string  `json:"guest"`
	Action     string  `json:"action"`
	Confidence float32 `json:"confidence"`
	Presented  bool    `json:"presented"`
	// Verdict is allow, deny or confirm; Rule the deciding rule; Why the
	// rule's reason, as the text output says them.
	Verdict string `json:"verdict"`
	Rule    string `json:"rule"`
	Why     string `json:"why"`
	// PolicyGuests are the guests the policy names, given when Guest is
	// not one of them.
	PolicyGuests []string `json:"policy_guests,omitempty"`
	// Restricted is true when the policy file could not be used and the
	// deny-all policy decided.
	Restricted bool `json:"restricted"`
}

func explainJSON(p *policy.Policy, guest string, a components.IntentAction, confidence float32, presented bool) ExplainJSON {
	d := p.Decide(p.Guest(guest), a, confidence, presented)
	text := p.Explain(guest, a, confidence, presented)
	_, why, _ := strings.Cut(text, " — ")
	doc := ExplainJSON{
		Guest: guest, Action: components.IntentActionNames[a], Confidence: confidence, Presented: presented,
		Verdict: policy.VerdictNames[d.Verdict], Rule: p.Rule(d.Rule), Why: why, Restricted: p.Restricted,
	}
	if p.Guest(guest) < 0 && !p.Restricted {
		doc.PolicyGuests = slices.Sorted(maps.Keys(p.File.Guests))
	}
	return doc
}
