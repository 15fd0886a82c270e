package main

import (
	"fmt"
	"os"
	"time"

	"github.com/rayos/engine/boot/image"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build RayOS's bootable UEFI disk image",
		Args:  exactArgs(0, "a subcommand: build"),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImageBuildCmd())
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
	f.IntVar(&o.DataSizeMiB, "data-size", image.DefaultDataSizeMiB, "size of the RayOS Data partition in MiB")
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
