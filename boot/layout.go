package boot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rayos/engine/world/atomicfile"
)

// LayoutVersion is the version of the RAYOS_DATA layout this runtime
// creates and accepts, kept in RAYOS_DATA/layout-version.
const LayoutVersion = 1

// Layout is the RAYOS_DATA folder:
//
//	layout-version           this layout's version
//	policy/rayos-policy.toml the policy (commented default on first boot)
//	vm/registry.toml         the VM registry; vm/<id>/ holds each VM's disks and state
//	volume/                  the Volume (vector store)
//	logs/markers.log         every marker
//	crash/<time>.txt         crash reports
//	boot/state.toml          boot counting and the last good entry
//	boot/last-good/          policy and registry of the last good normal boot
type Layout struct{ Root string }

// Paths inside RAYOS_DATA.
func (l Layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.Root}, parts...)...)
}
func (l Layout) VersionFile() string  { return l.path("layout-version") }
func (l Layout) PolicyFile() string   { return l.path("policy", "rayos-policy.toml") }
func (l Layout) RegistryFile() string { return l.path("vm", "registry.toml") }
func (l Layout) CrashDir() string     { return l.path("crash") }
func (l Layout) StateFile() string    { return l.path("boot", "state.toml") }
func (l Layout) LastGoodDir() string  { return l.path("boot", "last-good") }
func (l Layout) MarkerLog() string    { return l.path("logs", "markers.log") }

// layoutDirs are the folders every layout has.
var layoutDirs = []string{"policy", "vm", "volume", "logs", "crash", "boot"}

// Mount creates the layout on first boot, or validates an existing one.
// First boot is an empty or missing folder (or one holding only logs/, as
// earlier harness runs left); it gets every folder, the commented default
// policy, a registry and the version file. A later boot gets every problem
// listed, each naming the path. created reports a first boot.
func (l Layout) Mount(defaultPolicy, defaultRegistry string) (created bool, err error) {
	if err := CheckDataDir(l.Root); err != nil {
		return false, err
	}
	entries, err := os.ReadDir(l.Root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("data dir %s: %w", l.Root, err)
	}
	fresh := true
	for _, e := range entries {
		if e.Name() != "logs" {
			fresh = false
		}
	}
	if fresh {
		return true, l.create(defaultPolicy, defaultRegistry)
	}
	return false, l.Validate()
}

func (l Layout) create(defaultPolicy, defaultRegistry string) error {
	for _, d := range layoutDirs {
		if err := os.MkdirAll(l.path(d), 0o750); err != nil {
			return fmt.Errorf("data dir %s: %w", l.Root, err)
		}
	}
	for path, text := range map[string]string{
		l.PolicyFile():   defaultPolicy,
		l.RegistryFile(): defaultRegistry,
		l.VersionFile():  strconv.Itoa(LayoutVersion) + "\n",
	} {
		if err := writeBytes(path, []byte(text)); err != nil {
			return fmt.Errorf("data dir %s: %w", l.Root, err)
		}
	}
	return nil
}

// Validate lists everything wrong with an existing layout.
func (l Layout) Validate() error {
	var problems []string
	data, err := os.ReadFile(l.VersionFile())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		problems = append(problems, fmt.Sprintf("%s: missing: %s is not a RayOS data folder (or predates layouts)", l.VersionFile(), l.Root))
	case err != nil:
		problems = append(problems, err.Error())
	default:
		if v, err := strconv.Atoi(strings.TrimSpace(string(data))); err != nil || v != LayoutVersion {
			problems = append(problems, fmt.Sprintf("%s: layout version %q is not %d", l.VersionFile(), strings.TrimSpace(string(data)), LayoutVersion))
		}
	}
	for _, d := range layoutDirs {
		info, err := os.Stat(l.path(d))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, fmt.Sprintf("%s: missing folder", l.path(d)))
		case err != nil:
			problems = append(problems, err.Error())
		case !info.IsDir():
			problems = append(problems, fmt.Sprintf("%s: not a folder", l.path(d)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("data dir %s is not a valid layout:\n  %s", l.Root, strings.Join(problems, "\n  "))
	}
	return nil
}

// WriteFileAtomic writes path crash-safely; see atomicfile.Write.
func WriteFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	return atomicfile.Write(path, perm, write)
}

func writeBytes(path string, data []byte) error { return atomicfile.WriteBytes(path, data, 0o640) }
