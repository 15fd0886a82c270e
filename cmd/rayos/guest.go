package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/policy"
	"github.com/spf13/cobra"
)

func newGuestCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "guest",
		Short: "List, add, remove or show the VMs of the registry (RAYOS_DATA/vm/registry.toml)",
		Long: `The VM registry maps each stable VM id to its OS and resources; its disks and
saved state live in RAYOS_DATA/vm/<id>/. Changes are validated before they are
written, and written crash-safely: a rejected change leaves the file as it was.`,
	}
	cmd.PersistentFlags().StringVar(&data, "data", "./rayos-data", "RAYOS_DATA (created by the first rayos boot)")
	registryPath := func() string { return filepath.Join(data, "vm", "registry.toml") }
	load := func() (*guests.Registry, error) {
		r, err := guests.LoadRegistry(registryPath())
		if err != nil {
			return nil, fmt.Errorf("%w (a first `rayos boot --data %s` creates it)", err, data)
		}
		return r, nil
	}
	// edit changes the registry under the registry lock, so concurrent
	// edits never lose each other's changes; change's own refusals are bad
	// usage. Only a complete layout is edited: an interrupted first boot
	// is completed by the next rayos boot, which must find its defaults.
	edit := func(change func(*guests.Registry) error) error {
		if _, err := os.Stat(filepath.Join(data, "layout-version")); err != nil {
			return fmt.Errorf("%s: not a complete RayOS data folder (%w); a `rayos boot --data %s` creates or completes it", data, err, data)
		}
		var refused error
		err := guests.UpdateRegistry(registryPath(), func(r *guests.Registry) error {
			refused = change(r)
			return refused
		})
		if err != nil && err == refused {
			return usageError{err}
		}
		return err
	}

	var output string
	bootFrom := func(vm guests.VM) string {
		switch {
		case vm.Kernel != "":
			return "kernel " + vm.Kernel
		case vm.Disk == "":
			return "-"
		}
		return "disk " + vm.Disk
	}
	list := &cobra.Command{
		Use: "list", Short: "List the registry's VMs",
		Example: "  rayos guest list\n  rayos guest list -o json | jq -r '.guests[].id'",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			r, err := load()
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(cmd.OutOrStdout(), guestListJSON(r, bootFrom)) // ctl_json.go
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tOS\tAUTOSTART\tMEMORY\tVCPUS\tBOOT")
			for _, id := range r.IDs() {
				vm := r.VMs[id]
				fmt.Fprintf(tw, "%s\t%s\t%t\t%d MiB\t%d\t%s\n", id, vm.OS, vm.Autostart, vm.MemoryMiB, vm.VCPUs, bootFrom(vm))
			}
			return tw.Flush()
		},
	}
	addOutputFlag(list, &output)

	var vm guests.VM
	add := &cobra.Command{
		Use: "add ID", Short: "Add a VM to the registry",
		Example: `  rayos guest add dev --os linux --memory 512 --vcpus 1 --kernel vmlinuz --initrd initrd.gz --cmdline "console=ttyS0"`,
		Args:    exactArgs(1, "the VM id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := guests.ValidID(args[0]); err != nil {
				return usageError{err}
			}
			if err := vm.CheckMedia(guests.Dir(data, args[0]), func(field string) string { return "--" + field }); err != nil {
				return usageError{err}
			}
			if err := edit(func(r *guests.Registry) error { return r.Add(args[0], vm) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s to %s\n", args[0], registryPath())
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&vm.OS, "os", "linux", "linux or windows")
	f.IntVar(&vm.MemoryMiB, "memory", 512, "memory in MiB (the policy may cap it)")
	f.IntVar(&vm.VCPUs, "vcpus", 1, "virtual CPUs (the policy may cap them)")
	f.BoolVar(&vm.Autostart, "autostart", false, "start the VM (hidden) at boot")
	f.StringVar(&vm.Disk, "disk", "", "disk image or block device, relative to RAYOS_DATA/vm/<id>/ unless absolute; must exist")
	f.StringVar(&vm.Kernel, "kernel", "", "kernel to boot directly, relative to RAYOS_DATA/vm/<id>/ unless absolute; must exist")
	f.StringVar(&vm.Initrd, "initrd", "", "initramfs for --kernel, relative like --kernel; must exist")
	f.StringVar(&vm.Cmdline, "cmdline", "", "kernel command line for --kernel")

	remove := &cobra.Command{
		Use: "remove ID", Short: "Remove a VM from the registry (its folder stays)", Example: "  rayos guest remove dev",
		Args: exactArgs(1, "the VM id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := edit(func(r *guests.Registry) error { return r.Remove(args[0]) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s from %s (%s is kept)\n", args[0], registryPath(), guests.Dir(data, args[0]))
			return nil
		},
	}

	show := &cobra.Command{
		Use: "show ID", Short: "Show a VM and the libvirt domain RayOS defines for it under the current policy",
		Example: "  rayos guest show linux", Args: exactArgs(1, "the VM id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := load()
			if err != nil {
				return err
			}
			id := args[0]
			vm, ok := r.VMs[id]
			if !ok {
				return usageError{fmt.Errorf("vm %q is not in the registry (have: %s)", id, strings.Join(r.IDs(), ", "))}
			}
			p, perr := policy.LoadFile(filepath.Join(data, "policy", "rayos-policy.toml"))
			if perr != nil {
				p = policy.RestrictedPolicy(perr.Error())
			}
			limits := boot.GuestLimits(p, id)
			x, err := guests.DomainXML(guests.DomainSpec{ID: id, VM: vm, Limits: limits, Dir: guests.Dir(data, id)})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "id:        %s\nos:        %s\nautostart: %t\nmemory:    %d MiB\nvcpus:     %d\nfolder:    %s\n", id, vm.OS, vm.Autostart, vm.MemoryMiB, vm.VCPUs, guests.Dir(data, id))
			fmt.Fprintf(out, "policy:    network=%t cpus≤%d memory≤%d MiB devices=%s%s\n\n", limits.Network, limits.CPUs, limits.MemoryMiB, strings.Join(limits.Devices, ","), restrictedNote(p))
			fmt.Fprint(out, x)
			return nil
		},
	}
	cmd.AddCommand(list, add, remove, show)
	return cmd
}

func restrictedNote(p *policy.Policy) string {
	if p.Restricted {
		return " (policy invalid: nothing granted)"
	}
	return ""
}
