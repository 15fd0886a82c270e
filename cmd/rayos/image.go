package main

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/rayos/engine/boot/image"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build RayOS's bootable UEFI disk image and boot it in QEMU",
		Args:  exactArgs(0, "a subcommand: build or boot"),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImageBuildCmd(), newImageBootCmd())
	return cmd
}

func newImageBuildCmd() *cobra.Command {
	var o image.Options
	cmd := &cobra.Command{
		Use:   "build --out FILE",
		Short: "Build a GPT disk image: EFI system partition (systemd-boot, kernel, initramfs with this rayos as /init) and an ext4 RayOS Data partition",
		Long: `Build a GPT disk image without root or loop mounts: an EFI system
partition holding systemd-boot with the entries "RayOS", "RayOS (recovery)"
and "RayOS (previous)", a Debian kernel and an initramfs whose /init is this
rayos binary with its shared libraries, and an empty ext4 partition
"RayOS Data" (label RAYOS_DATA). Needs the Debian packages mtools,
dosfstools, gdisk, e2fsprogs, systemd-boot-efi and linux-image-amd64.`,
		Example: "  rayos image build --out rayos.img\n  rayos image build --out rayos.img --kernel /boot/vmlinuz-6.1.0-56-amd64 --data-size 1024",
		Args:    exactArgs(0, "none"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return usageError{fmt.Errorf("--out is required")}
			}
			if o.DataSizeMiB < 16 {
				return usageError{fmt.Errorf("--data-size %d: want at least 16 (MiB)", o.DataSizeMiB)}
			}
			start := time.Now()
			o.Warn = func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "rayos image build: "+msg) }
			bar := imageProgress(cmd.ErrOrStderr())
			if bar != nil {
				o.Step = func(name string, done, total int) {
					bar.Describe(name)
					bar.Set(done)
				}
			}
			err := image.Build(o)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			st, err := os.Stat(o.Out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "built %s: %d MiB in %s\n", o.Out, st.Size()>>20, time.Since(start).Round(time.Millisecond))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "", "the disk image to write (required)")
	f.StringVar(&o.Kernel, "kernel", "", "Linux kernel (default: the newest /boot/vmlinuz-*)")
	f.StringVar(&o.Binary, "binary", "", "the binary that becomes /init (default: this rayos)")
	f.StringVar(&o.Bootloader, "bootloader", "", "the EFI boot manager (default: "+image.DefaultBootloader+")")
	f.StringVar(&o.Modules, "modules", "", "the kernel's module tree, whose disk, ext4 and input modules go into the initramfs (default: /lib/modules/<release> for --kernel vmlinuz-<release>)")
	f.IntVar(&o.DataSizeMiB, "data-size", image.DefaultDataSizeMiB, "size of the RayOS Data partition in MiB")
	return cmd
}

func newImageBootCmd() *cobra.Command {
	var o image.BootOptions
	cmd := &cobra.Command{
		Use:   "boot IMAGE",
		Short: "Boot a RayOS disk image in QEMU (software emulation, OVMF): serial console on stdout, exit with the runtime's status",
		Long: `Boot runs the image in qemu-system-x86_64 (q35, software emulation, OVMF
UEFI firmware, the image as a virtio disk) with the serial console on
stdout and in a log file (--log, default IMAGE.log). The machine's EFI
variables live in IMAGE.vars (made from OVMF_VARS.fd on first use), like a
real machine's NVRAM.

Reboots are real: a boot that fails restarts the machine, and boot
counting on the data partition falls back to "previous" after three
failures. The command ends when the machine powers off — RayOS shutting
down cleanly — and exits with the runtime's exit status, read from its
last marker RAYOS_BOOT:halt:status=N. Ctrl+C presses the machine's power
button (an orderly shutdown); a second Ctrl+C kills it. --timeout kills it
after that long (exit 1). Needs the Debian packages qemu-system-x86 and
ovmf.`,
		Example: `  rayos image build --out rayos.img && rayos image boot rayos.img
  # boot the recovery entry once (systemd-boot's one-shot EFI variable)
  rayos image boot rayos.img --entry recovery
  # let a test drive the machine: keys, screendumps, the power button (QMP)
  rayos image boot rayos.img --qmp /tmp/rayos-qmp.sock --timeout 10m`,
		Args: exactArgs(1, "the disk image"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return []string{"img"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Image = args[0]
			if o.Entry != "" && !slices.Contains([]string{"normal", "recovery", "previous"}, o.Entry) {
				return usageError{fmt.Errorf("--entry %q: want normal, recovery or previous", o.Entry)}
			}
			if o.MemoryMiB < 256 || o.CPUs < 1 || o.Timeout < 0 {
				return usageError{fmt.Errorf("--memory %d (at least 256), --cpus %d (at least 1), --timeout %s (not negative)", o.MemoryMiB, o.CPUs, o.Timeout)}
			}
			// Ctrl+C, SIGTERM and a closed terminal (SIGHUP) press the
			// power button: an orderly shutdown, not a power cut.
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			// A closed stdout (`rayos image boot x | head -1`) is then a
			// write error the harness answers with the power button, not
			// SIGPIPE killing the harness in the middle of the machine's run.
			pipe := make(chan os.Signal, 1)
			signal.Notify(pipe, syscall.SIGPIPE)
			defer signal.Stop(pipe)
			o.Stdout, o.Interrupt = cmd.OutOrStdout(), sigs
			res, err := image.BootImage(o)
			fmt.Fprintf(cmd.ErrOrStderr(), "rayos image boot: %d boot(s), ready %d time(s), first ready after %s, ran %s, runtime status %d\n",
				res.Boots, res.Ready, res.FirstReady.Round(time.Millisecond), res.Elapsed.Round(time.Millisecond), res.Status)
			if err != nil {
				return err
			}
			if res.Status != 0 {
				return exitStatus{res.Status}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Entry, "entry", "", "boot this entry once: normal, recovery or previous (default: systemd-boot's default, RayOS)")
	f.StringVar(&o.Log, "log", "", "also write the serial console to this file (default IMAGE.log)")
	f.StringVar(&o.Vars, "vars", "", "the machine's EFI variable store (default IMAGE.vars, made from "+image.DefaultVarsTemplate+")")
	f.StringVar(&o.QMP, "qmp", "", "open a QMP socket here for tools and tests (keys, screendumps, power button)")
	f.IntVar(&o.MemoryMiB, "memory", 1024, "the machine's memory in MiB")
	f.IntVar(&o.CPUs, "cpus", 2, "the machine's CPUs")
	f.BoolVar(&o.NoReboot, "no-reboot", false, "end at the first restart instead of booting again")
	f.DurationVar(&o.Timeout, "timeout", 0, "kill the machine after this long (0: never)")
	return cmd
}

// imageProgress is a bar on w when w is a terminal, else nil.
func imageProgress(w any) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return progressbar.NewOptions(5, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("building image"),
		progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
}
