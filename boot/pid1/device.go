package pid1

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDataSpec is the data partition when the command line names none.
const DefaultDataSpec = "LABEL=RAYOS_DATA"

// dataSpec is rayos.data= from the kernel command line.
func dataSpec(cmdline string) string {
	if v := cmdlineValue(cmdline, "rayos.data"); v != "" {
		return v
	}
	return DefaultDataSpec
}

// cmdlineValue is the last key=value word's value for key on a kernel
// command line ("" when absent).
func cmdlineValue(cmdline, key string) string {
	v := ""
	for _, w := range strings.Fields(cmdline) {
		if val, ok := strings.CutPrefix(w, key+"="); ok {
			v = val
		}
	}
	return v
}

// ext4LabelMax is the size of ext4's volume name field.
const ext4LabelMax = 16

// findDevice waits for the block device spec names — a path (/dev/vda2)
// or LABEL=<ext4 label> — to appear: drivers probe disks asynchronously,
// so it is looked for again every 100 ms until timeout. others are more
// devices with the same label (a second disk with a RayOS image, a USB
// stick): the first in name order is used, and the caller says so.
func findDevice(spec string, timeout time.Duration) (dev string, others []string, err error) {
	label, byLabel := strings.CutPrefix(spec, "LABEL=")
	if !byLabel && !strings.HasPrefix(spec, "/dev/") {
		return "", nil, fmt.Errorf("rayos.data=%s: want LABEL=<label> or /dev/<name>", spec)
	}
	// Labels that can never match are said now, not after the wait; an
	// empty one would take any unlabelled ext4 (a guest's disk).
	if byLabel && (label == "" || len(label) > ext4LabelMax) {
		return "", nil, fmt.Errorf("rayos.data=%s: an ext4 label is 1 to %d bytes", spec, ext4LabelMax)
	}
	deadline := time.Now().Add(timeout)
	for {
		if byLabel {
			if devs := findLabel(label); len(devs) > 0 {
				return devs[0], devs[1:], nil
			}
		} else if st, err := os.Stat(spec); err == nil && st.Mode()&os.ModeDevice != 0 {
			return spec, nil, nil
		}
		if time.Now().After(deadline) {
			names, _ := os.ReadDir(sysBlock)
			var seen []string
			for _, n := range names {
				seen = append(seen, n.Name())
			}
			return "", nil, fmt.Errorf("no block device %s after %s (block devices: %s)", spec, timeout, strings.Join(seen, " "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findLabel returns the devices holding an ext2/3/4 file system labelled
// label, in name order, looking at every block device the kernel lists
// except empty ones (a loop device with no file, a drive with no disc).
func findLabel(label string) []string {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var found []string
	for _, n := range names {
		if size, err := os.ReadFile(filepath.Join(sysBlock, n, "size")); err == nil && strings.TrimSpace(string(size)) == "0" {
			continue
		}
		dev := filepath.Join(devDir, n)
		if l, ok := ext4Label(dev); ok && l == label {
			found = append(found, dev)
		}
	}
	return found
}

// ext4Label reads an ext2/3/4 superblock (at byte 1024: magic 0xEF53 at
// 0x38, the volume name at 0x78, 16 bytes). The device is opened
// non-blocking: an optical drive then does not wait for its disc.
func ext4Label(dev string) (string, bool) {
	f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sb := make([]byte, 0x88)
	if _, err := f.ReadAt(sb, 1024); err != nil {
		return "", false
	}
	if binary.LittleEndian.Uint16(sb[0x38:]) != 0xEF53 {
		return "", false
	}
	name := sb[0x78:0x88]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return string(name), true
}

func stack() []byte { return debug.Stack() }
