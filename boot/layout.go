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
//	logs/markers.log         every marker (rotated: markers.log.1 … .N)
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

// LayoutError lists everything wrong with an existing RAYOS_DATA, each
// problem naming its path. Recovery boots on a layout with problems.
type LayoutError struct {
	Root     string
	Problems []string
}

func (e *LayoutError) Error() string {
	return fmt.Sprintf("data dir %s is not a valid layout:\n  %s", e.Root, strings.Join(e.Problems, "\n  "))
}

// Mounted is what Mount found and did.
type Mounted struct {
	// Created: this boot made the layout (a first boot).
	Created bool
	// Completed: the layout was begun by a first boot that was killed
	// before it wrote layout-version, and this boot finished it.
	Completed bool
	// Owned: the folder holds this runtime's layout (layout-version says
	// LayoutVersion), so RayOS may write in it even if something else is
	// broken. A foreign folder or another layout version is never written.
	Owned bool
}

// Mount creates the layout on first boot, or validates an existing one.
//
// A first boot is a missing or empty folder, one holding only logs/ (as
// earlier harness runs left), or one holding only what an interrupted
// first boot leaves: the layout folders, the default policy and registry
// byte for byte, RayOS's temporary files and logs. layout-version is
// written last, so its presence means the layout is complete; a folder
// without it that holds anything else is not RayOS's and is refused
// without being written. A later boot gets every problem listed, each
// naming the path (a *LayoutError).
func (l Layout) Mount(defaultPolicy, defaultRegistry string) (Mounted, error) {
	if err := CheckDataDir(l.Root); err != nil {
		return Mounted{}, err
	}
	version, err := atomicfile.ReadRegular(l.VersionFile(), 64)
	switch {
	case err == nil:
		owned := strings.TrimSpace(string(version)) == strconv.Itoa(LayoutVersion)
		return Mounted{Owned: owned}, l.Validate()
	case !errors.Is(err, fs.ErrNotExist):
		return Mounted{}, l.Validate()
	}
	begun, foreign := l.leftByFirstBoot(defaultPolicy, defaultRegistry)
	if foreign != "" {
		return Mounted{}, l.Validate()
	}
	if err := l.create(defaultPolicy, defaultRegistry); err != nil {
		return Mounted{}, err
	}
	return Mounted{Created: true, Completed: begun, Owned: true}, nil
}

// leftByFirstBoot inspects a folder without layout-version. foreign names
// the first thing in it that layout creation does not make ("" if there
// is none); begun reports that creation had made something beyond logs/.
func (l Layout) leftByFirstBoot(defaultPolicy, defaultRegistry string) (begun bool, foreign string) {
	files := map[string]string{"policy": "rayos-policy.toml", "vm": "registry.toml"}
	defaults := map[string]string{"policy": defaultPolicy, "vm": defaultRegistry}
	entries, err := os.ReadDir(l.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return false, ""
	}
	if err != nil {
		return false, l.Root
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == "logs" || isOurTemp(name, "layout-version"):
			// Logs may hold anything a harness left; temporary files are
			// removed once the folder is locked and owned.
			if name != "logs" {
				begun = true
			}
		case name == "lost+found" && e.IsDir():
			// A freshly formatted data partition.
		case e.IsDir() && isLayoutDir(name):
			begun = true
			if bad := l.onlyCreated(name, files[name], defaults[name]); bad != "" {
				return begun, bad
			}
		default:
			return begun, filepath.Join(l.Root, name)
		}
	}
	return begun, ""
}

// onlyCreated checks that layout folder dir holds nothing but what
// creation writes there: its default file (byte for byte) and temporary
// files. It names the first thing that does not belong.
func (l Layout) onlyCreated(dir, file, text string) string {
	entries, err := os.ReadDir(l.path(dir))
	if err != nil {
		return l.path(dir)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case isOurTemp(name, file) && !e.IsDir():
		case file != "" && name == file && e.Type().IsRegular():
			data, err := atomicfile.ReadRegular(l.path(dir, name), int64(len(text))+1)
			if err != nil || string(data) != text {
				return l.path(dir, name)
			}
		default:
			return l.path(dir, name)
		}
	}
	return ""
}

func isLayoutDir(name string) bool {
	for _, d := range layoutDirs {
		if d == name {
			return true
		}
	}
	return false
}

// isOurTemp reports a temporary file of atomicfile.Write, or one of the
// older ".<file>.<digits>" names it used for file.
func isOurTemp(name, file string) bool {
	if atomicfile.IsTemp(name) {
		return true
	}
	if file == "" {
		return false
	}
	digits, ok := strings.CutPrefix(name, "."+file+".")
	if !ok || digits == "" {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 64)
	return err == nil
}

// create makes what is missing of a new layout and writes layout-version
// last, so that a kill at any point leaves a folder the next boot
// recognises and completes. Files already there (from an interrupted first
// boot) are the defaults, checked by leftByFirstBoot, and are kept.
func (l Layout) create(defaultPolicy, defaultRegistry string) error {
	for _, d := range layoutDirs {
		if err := os.MkdirAll(l.path(d), 0o750); err != nil {
			return fmt.Errorf("data dir %s: %w", l.Root, err)
		}
	}
	for _, f := range []struct{ path, text string }{
		{l.PolicyFile(), defaultPolicy},
		{l.RegistryFile(), defaultRegistry},
	} {
		if _, err := os.Lstat(f.path); err == nil {
			continue
		}
		if err := writeBytes(f.path, []byte(f.text)); err != nil {
			return fmt.Errorf("data dir %s: %w", l.Root, err)
		}
	}
	if err := writeBytes(l.VersionFile(), []byte(strconv.Itoa(LayoutVersion)+"\n")); err != nil {
		return fmt.Errorf("data dir %s: %w", l.Root, err)
	}
	return nil
}

// owned reports whether layout-version says this runtime's layout, the
// condition for RayOS to write anything in the folder.
func (l Layout) owned() bool {
	version, err := atomicfile.ReadRegular(l.VersionFile(), 64)
	return err == nil && strings.TrimSpace(string(version)) == strconv.Itoa(LayoutVersion)
}

// Validate lists everything wrong with an existing layout.
func (l Layout) Validate() error {
	var problems []string
	data, err := atomicfile.ReadRegular(l.VersionFile(), 64)
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
		return &LayoutError{Root: l.Root, Problems: problems}
	}
	return nil
}

// WriteFileAtomic writes path crash-safely; see atomicfile.Write.
func WriteFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	return atomicfile.Write(path, perm, write)
}

func writeBytes(path string, data []byte) error { return atomicfile.WriteBytes(path, data, 0o640) }
