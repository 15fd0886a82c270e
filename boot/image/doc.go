// Package image builds RayOS's bootable UEFI disk image: a GPT disk with an
// EFI system partition (systemd-boot, three boot entries, a Debian kernel
// and an initramfs whose /init is the rayos binary) and an ext4 "RayOS
// Data" partition. It needs no root and no loop mounts: the file systems
// are made on plain files (mkfs.fat, mtools, mke2fs), the partition table
// by sgdisk, and the pieces are copied into the disk at their offsets.
//
// It also holds a small newc cpio writer and reader (the initramfs format;
// the standard library has none).
package image
