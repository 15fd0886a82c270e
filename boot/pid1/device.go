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

// findDevice waits for the block device spec names — a path (/dev/vda2)
// or LABEL=<ext4 label> — to appear: drivers probe disks asynchronously,
// so it is looked for again every 100 ms until timeout.
func findDevice(spec string, timeout time.Duration) (string, error) {
	label, byLabel := strings.CutPrefix(spec, "LABEL=")
	if !byLabel && !strings.HasPrefix(spec, "/dev/") {
		return "", fmt.Errorf("rayos.data=%s: want LABEL=<label> or /dev/<name>", spec)
	}
	deadline := time.Now().Add(timeout)
	for {
		if byLabel {
			if dev := findLabel(label); dev != "" {
				return dev, nil
			}
		} else if st, err := os.Stat(spec); err == nil && st.Mode()&os.ModeDevice != 0 {
			return spec, nil
		}
		if time.Now().After(deadline) {
			names, _ := os.ReadDir(sysBlock)
			var seen []string
			for _, n := range names {
				seen = append(seen, n.Name())
			}
			return "", fmt.Errorf("no block device %s after %s (block devices: %s)", spec, timeout, strings.Join(seen, " "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findLabel returns the device holding an ext2/3/4 file system labelled
// label, looking at every block device the kernel lists.
func findLabel(label string) string {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return ""
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		dev := filepath.Join(devDir, n)
		if l, ok := ext4Label(dev); ok && l == label {
			return dev
		}
	}
	return ""
}

// ext4Label reads an ext2/3/4 superblock (at byte 1024: magic 0xEF53 at
// 0x38, the volume name at 0x78, 16 bytes).
func ext4Label(dev string) (string, bool) {
	f, err := os.Open(dev)
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
