package boot

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rayos/engine/world/atomicfile"
)

// BootInfoVersion is the hand-off format this runtime reads.
const BootInfoVersion = 0

// Boot entries.
const (
	EntryNormal   = "normal"
	EntryRecovery = "recovery"
	EntryPrevious = "previous"
)

// Entries lists the boot entries.
var Entries = []string{EntryNormal, EntryRecovery, EntryPrevious}

// BootInfo is the small versioned record the bootloader hands to the
// runtime (TOML). Paths left empty follow from Data.
type BootInfo struct {
	Version int `toml:"version"`
	// Entry is the boot entry chosen in the boot menu; empty lets the
	// runtime choose (normal, or previous after repeated failures).
	Entry string `toml:"entry"`
	// Data is RAYOS_DATA.
	Data string `toml:"data"`
	// Policy, Registry and Volume locate the staged artifacts.
	Policy   string `toml:"policy"`
	Registry string `toml:"registry"`
	Volume   string `toml:"volume"`
	// Flags are boot flags; "recovery" forces the recovery entry.
	Flags []string `toml:"flags"`

	// Source says where the record came from: a file, the kernel command
	// line, or "harness" when the runtime synthesised it.
	Source string `toml:"-"`
}

// ErrUnknownBootInfoVersion is returned for a record of another version.
var ErrUnknownBootInfoVersion = errors.New("unknown BootInfo version")

// ParseBootInfo reads a BootInfo record strictly: unknown keys and an
// unknown version are errors that name the file, line and key.
func ParseBootInfo(name, text string) (BootInfo, error) {
	var b BootInfo
	md, err := toml.Decode(text, &b)
	if err != nil {
		return BootInfo{}, fmt.Errorf("bootinfo %s: %w", name, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return BootInfo{}, fmt.Errorf("bootinfo %s: unknown key %q", name, keys[0].String())
	}
	if !md.IsDefined("version") {
		return BootInfo{}, fmt.Errorf("bootinfo %s: version: missing", name)
	}
	if b.Version != BootInfoVersion {
		return BootInfo{}, fmt.Errorf("bootinfo %s: version %d: %w (this runtime reads %d)", name, b.Version, ErrUnknownBootInfoVersion, BootInfoVersion)
	}
	if b.Entry != "" && !slices.Contains(Entries, b.Entry) {
		return BootInfo{}, fmt.Errorf("bootinfo %s: entry %q: want one of %s", name, b.Entry, strings.Join(Entries, ", "))
	}
	for _, f := range b.Flags {
		if f != "recovery" {
			return BootInfo{}, fmt.Errorf("bootinfo %s: flags: unknown flag %q", name, f)
		}
	}
	b.Source = name
	return b, nil
}

// ReadBootInfoFile reads the record at path: a regular file of at most
// 64 KiB (a FIFO or a device in its place is refused, not read).
func ReadBootInfoFile(path string) (BootInfo, error) {
	data, err := atomicfile.ReadRegular(path, atomicfile.MaxRecordSize)
	if err != nil {
		return BootInfo{}, fmt.Errorf("bootinfo: %w", err)
	}
	return ParseBootInfo(path, string(data))
}

// FromCmdline extracts rayos.bootinfo=PATH and rayos.entry=ENTRY from a
// kernel command line (as in /proc/cmdline on an installed system).
func FromCmdline(cmdline string) (path, entry string) {
	for _, word := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(word, "rayos.bootinfo="); ok {
			path = v
		}
		if v, ok := strings.CutPrefix(word, "rayos.entry="); ok {
			entry = v
		}
	}
	return path, entry
}

// WithDefaults fills the paths that follow from Data.
func (b BootInfo) WithDefaults() BootInfo {
	if b.Policy == "" {
		b.Policy = filepath.Join(b.Data, "policy", "rayos-policy.toml")
	}
	if b.Registry == "" {
		b.Registry = filepath.Join(b.Data, "vm", "registry.toml")
	}
	if slices.Contains(b.Flags, "recovery") {
		b.Entry = EntryRecovery
	}
	return b
}
