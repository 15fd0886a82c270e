package pid1

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
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

// bootWait is how long, once a device with the label has appeared, the
// disk systemd-boot started from is still waited for: drivers probe disks
// asynchronously, and a USB stick's partition may show up before the
// boot disk does.
var bootWait = 3 * time.Second

// dataChoice is the data partition found and why it was taken.
type dataChoice struct {
	dev    string   // the device to mount
	others []string // more devices with the label, in name order
	rule   string   // how dev was chosen, for the console ("" for a /dev path)
}

// findDevice is chooseDevice without the rule: the device and the others
// with its label (what the older tests in pid1_test.go check).
func findDevice(spec string, timeout time.Duration) (dev string, others []string, err error) {
	c, err := chooseDevice(spec, timeout)
	return c.dev, c.others, err
}

// chooseDevice waits for the block device spec names — a path
// (/dev/vda2) or LABEL=<ext4 label> — to appear: drivers probe disks
// asynchronously, so it is looked for again every 100 ms until timeout.
//
// More than one device may carry the label (an installer USB stick and
// the installed disk, a second RayOS disk). The one on the disk
// systemd-boot started from is taken — its LoaderDevicePartUUID EFI
// variable names the GPT partition GUID of that disk's EFI system
// partition — else the first in name order; rule says which, and names
// the others.
func chooseDevice(spec string, timeout time.Duration) (dataChoice, error) {
	label, byLabel := strings.CutPrefix(spec, "LABEL=")
	if !byLabel && !strings.HasPrefix(spec, "/dev/") {
		return dataChoice{}, fmt.Errorf("rayos.data=%s: want LABEL=<label> or /dev/<name>", spec)
	}
	// Labels that can never match are said now, not after the wait; an
	// empty one would take any unlabelled ext4 (a guest's disk).
	if byLabel && (label == "" || len(label) > ext4LabelMax) {
		return dataChoice{}, fmt.Errorf("rayos.data=%s: an ext4 label is 1 to %d bytes", spec, ext4LabelMax)
	}
	var guid string
	var guidErr error
	if byLabel {
		guid, guidErr = loaderPartUUID()
	}
	deadline := time.Now().Add(timeout)
	var firstSeen time.Time
	for {
		if byLabel {
			if devs := findLabel(label); len(devs) > 0 {
				if firstSeen.IsZero() {
					firstSeen = time.Now()
				}
				c, wait := pickBootDisk(devs, guid, guidErr)
				if !wait || time.Now().After(deadline) || time.Since(firstSeen) >= bootWait {
					return c, nil
				}
			}
		} else if st, err := os.Stat(spec); err == nil && st.Mode()&os.ModeDevice != 0 {
			return dataChoice{dev: spec}, nil
		}
		if time.Now().After(deadline) {
			names, _ := os.ReadDir(sysBlock)
			var seen []string
			for _, n := range names {
				seen = append(seen, n.Name())
			}
			return dataChoice{}, fmt.Errorf("no block device %s after %s (block devices: %s)", spec, timeout, strings.Join(seen, " "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pickBootDisk chooses among devs (devices with the label, in name
// order) the first on the disk holding GPT partition guid (systemd-boot's
// LoaderDevicePartUUID; "" when unset, guidErr when unreadable), else the
// first. wait is true when guid names no disk seen yet: the boot disk may
// still be being probed.
func pickBootDisk(devs []string, guid string, guidErr error) (c dataChoice, wait bool) {
	var why string
	switch {
	case guidErr != nil:
		why = fmt.Sprintf("LoaderDevicePartUUID unreadable: %v", guidErr)
	case guid == "":
		why = "no LoaderDevicePartUUID: not started by systemd-boot"
	default:
		disks := disksWithPartUUID(guid)
		if len(disks) == 0 {
			why = fmt.Sprintf("no disk has partition %s, systemd-boot's LoaderDevicePartUUID", guid)
			wait = true
			break
		}
		if len(disks) > 1 {
			why = fmt.Sprintf("disks %s all have partition %s, systemd-boot's LoaderDevicePartUUID: copies of one image", strings.Join(disks, " "), guid)
			break
		}
		disk := disks[0]
		for i, d := range devs {
			if onDisk(d, disk) {
				c = dataChoice{
					dev:    d,
					others: slices.Delete(slices.Clone(devs), i, i+1),
					rule:   fmt.Sprintf("using %s, on %s, the disk systemd-boot started from (LoaderDevicePartUUID %s)", d, disk, guid),
				}
				c.rule += alsoOn(c.others)
				return c, false
			}
		}
		why = fmt.Sprintf("none on %s, the disk systemd-boot started from (LoaderDevicePartUUID %s)", disk, guid)
	}
	c = dataChoice{dev: devs[0], others: devs[1:]}
	c.rule = fmt.Sprintf("using %s, the first by name (%s)", c.dev, why) + alsoOn(c.others)
	return c, wait
}

// alsoOn names the devices not chosen.
func alsoOn(others []string) string {
	if len(others) == 0 {
		return ""
	}
	return "; also on " + strings.Join(others, " ")
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
