package pid1

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/unix"
)

// loaderPartUUIDPath is systemd-boot's LoaderDevicePartUUID variable as
// efivarfs shows it: the GPT partition GUID of the EFI system partition
// it was started from. A variable so a test can point it elsewhere.
var loaderPartUUIDPath = "/sys/firmware/efi/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// maxEFIVar bounds what is read of the variable: the GUID string is 36
// UTF-16 characters plus a NUL, after 4 bytes of attributes.
const maxEFIVar = 4 + 2*64

// loaderPartUUID reads LoaderDevicePartUUID: "" and nil when the file is
// absent (not started by systemd-boot, or no efivarfs), an error when it
// is there but is not a GUID.
func loaderPartUUID() (string, error) {
	f, err := os.Open(loaderPartUUIDPath)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", loaderPartUUIDPath, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEFIVar+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", loaderPartUUIDPath, err)
	}
	guid, err := parseEFIGUIDVar(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", loaderPartUUIDPath, err)
	}
	return guid, nil
}

// parseEFIGUIDVar decodes an efivarfs file holding a GUID as a UTF-16LE
// string (4 bytes of attributes first, the string maybe NUL-terminated)
// and returns the GUID upper-case.
func parseEFIGUIDVar(b []byte) (string, error) {
	if len(b) > maxEFIVar {
		return "", fmt.Errorf("%d bytes or more, want at most %d", len(b), maxEFIVar)
	}
	if len(b) < 4 {
		return "", fmt.Errorf("%d bytes, shorter than the 4-byte attributes", len(b))
	}
	s := b[4:]
	if len(s)%2 != 0 {
		return "", fmt.Errorf("value of %d bytes: odd, not UTF-16", len(s))
	}
	u := make([]uint16, len(s)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(s[2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	guid := strings.ToUpper(string(utf16.Decode(u)))
	if !isGUID(guid) {
		return "", fmt.Errorf("value %q is not a GUID", guid)
	}
	return guid, nil
}

// isGUID says whether s is written 8-4-4-4-12 hexadecimal digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// formatGUID writes a GUID as stored on disk (its first three fields
// little-endian) the usual way, upper-case.
func formatGUID(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// GPT bounds. The UEFI specification has a 92-byte header and entries of
// 128 × 2ⁿ bytes; partitioning tools write 128 entries of 128 bytes
// (16 KiB). A disk asking for more than maxGPTArray is refused rather
// than read: PID 1 must not allocate, or read, what a hostile or damaged
// disk says.
const (
	gptHeaderMin  = 92
	gptEntryMin   = 128
	gptEntryMax   = 4096
	maxGPTArray   = 1 << 20
	maxSectorSize = 64 << 10
)

// gptPartition is one used entry of a GPT partition table.
type gptPartition struct {
	Index int    // 1-based, as the kernel numbers partitions
	GUID  string // unique partition GUID, upper-case
}

// readGPT reads the primary GPT of a disk whose logical sectors are
// sectorSize bytes: the header at LBA 1 and the used entries of its
// partition array, both checked against their CRC32.
func readGPT(r io.ReaderAt, sectorSize int) ([]gptPartition, error) {
	if sectorSize < 512 || sectorSize > maxSectorSize || sectorSize&(sectorSize-1) != 0 {
		return nil, fmt.Errorf("logical sector size %d: want a power of two from 512 to %d", sectorSize, maxSectorSize)
	}
	hdr := make([]byte, sectorSize)
	if _, err := r.ReadAt(hdr, int64(sectorSize)); err != nil {
		return nil, fmt.Errorf("GPT header at LBA 1: %w", err)
	}
	if string(hdr[:8]) != "EFI PART" {
		return nil, errors.New("no GPT: LBA 1 has no \"EFI PART\" signature")
	}
	size := binary.LittleEndian.Uint32(hdr[12:])
	if size < gptHeaderMin || size > uint32(sectorSize) {
		return nil, fmt.Errorf("GPT HeaderSize %d: want %d to %d", size, gptHeaderMin, sectorSize)
	}
	want := binary.LittleEndian.Uint32(hdr[16:])
	h := bytes.Clone(hdr[:size])
	clear(h[16:20])
	if got := crc32.ChecksumIEEE(h); got != want {
		return nil, fmt.Errorf("GPT HeaderCRC32 %08x, computed %08x", want, got)
	}
	if my := binary.LittleEndian.Uint64(hdr[24:]); my != 1 {
		return nil, fmt.Errorf("GPT MyLBA %d at LBA 1: not a primary header", my)
	}
	entryLBA := binary.LittleEndian.Uint64(hdr[72:])
	count := binary.LittleEndian.Uint32(hdr[80:])
	entrySize := binary.LittleEndian.Uint32(hdr[84:])
	arrayCRC := binary.LittleEndian.Uint32(hdr[88:])
	if entrySize < gptEntryMin || entrySize > gptEntryMax || entrySize%gptEntryMin != 0 {
		return nil, fmt.Errorf("GPT SizeOfPartitionEntry %d: want a multiple of %d up to %d", entrySize, gptEntryMin, gptEntryMax)
	}
	if uint64(count)*uint64(entrySize) > maxGPTArray {
		return nil, fmt.Errorf("GPT NumberOfPartitionEntries %d × %d bytes: over %d bytes", count, entrySize, maxGPTArray)
	}
	// An LBA past what an int64 byte offset holds cannot be read (and
	// would wrap to a negative offset).
	if entryLBA < 2 || entryLBA > (1<<62)/uint64(sectorSize) {
		return nil, fmt.Errorf("GPT PartitionEntryLBA %d: out of range", entryLBA)
	}
	array := make([]byte, int(count)*int(entrySize))
	if _, err := r.ReadAt(array, int64(entryLBA)*int64(sectorSize)); err != nil {
		return nil, fmt.Errorf("GPT partition entries at LBA %d: %w", entryLBA, err)
	}
	if got := crc32.ChecksumIEEE(array); got != arrayCRC {
		return nil, fmt.Errorf("GPT PartitionEntryArrayCRC32 %08x, computed %08x", arrayCRC, got)
	}
	var parts []gptPartition
	var zero [16]byte
	for i := 0; i < int(count); i++ {
		e := array[i*int(entrySize):]
		if bytes.Equal(e[:16], zero[:]) { // PartitionTypeGUID zero: unused
			continue
		}
		parts = append(parts, gptPartition{Index: i + 1, GUID: formatGUID(e[16:32])})
	}
	return parts, nil
}

// diskGPT reads the GPT of the whole disk disk (a name in sysBlock), with
// the logical sector size the kernel gives for it (512 when unsaid).
func diskGPT(disk string) ([]gptPartition, error) {
	sector := 512
	if b, err := os.ReadFile(filepath.Join(sysBlock, disk, "queue", "logical_block_size")); err == nil {
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s/queue/logical_block_size: %w", disk, err)
		}
		sector = n
	}
	dev := filepath.Join(devDir, disk)
	// Non-blocking, as for ext4Label: an optical drive then does not
	// wait for its disc.
	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	parts, err := readGPT(f, sector)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dev, err)
	}
	return parts, nil
}

// disksWithPartUUID are the whole disks (names in sysBlock: entries with
// no "partition" file, not empty) whose GPT has a partition with unique
// GUID guid, in name order. Disks with no readable GPT are passed by.
// More than one is two copies of one image (dd keeps the GUIDs).
func disksWithPartUUID(guid string) []string {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil
	}
	var disks []string
	for _, e := range entries { // ReadDir sorts by name
		n := e.Name()
		if _, err := os.Stat(filepath.Join(sysBlock, n, "partition")); err == nil {
			continue
		}
		if size, err := os.ReadFile(filepath.Join(sysBlock, n, "size")); err == nil && strings.TrimSpace(string(size)) == "0" {
			continue
		}
		parts, err := diskGPT(n)
		if err != nil {
			continue
		}
		for _, p := range parts {
			if strings.EqualFold(p.GUID, guid) {
				disks = append(disks, n)
				break
			}
		}
	}
	return disks
}

// onDisk says whether the block device dev (a path in devDir) is a
// partition of the whole disk disk: sysfs lists a disk's partitions as
// its subdirectories (/sys/class/block/vdb/vdb2).
func onDisk(dev, disk string) bool {
	st, err := os.Stat(filepath.Join(sysBlock, disk, filepath.Base(dev)))
	return err == nil && st.IsDir()
}
