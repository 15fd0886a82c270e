package guests

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rayos/engine/world/atomicfile"
)

// The registry lock serialises edits of vm/registry.toml: an exclusive
// flock on the registry's folder (vm/), held across the whole
// read-modify-write, so that concurrent `rayos guest add` runs each see
// the others' VMs instead of overwriting them. Locking the folder needs
// no lock file, and the kernel drops the lock when its holder dies.

// LockRegistry waits for the registry lock of the registry at path and
// returns the function that releases it.
func LockRegistry(path string) (unlock func(), err error) {
	return lockRegistry(path, syscall.LOCK_EX)
}

// TryLockRegistry takes the registry lock only if it is free.
func TryLockRegistry(path string) (unlock func(), err error) {
	return lockRegistry(path, syscall.LOCK_EX|syscall.LOCK_NB)
}

func lockRegistry(path string, how int) (func(), error) {
	dir := filepath.Dir(path)
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("registry lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("registry lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// UpdateRegistry edits the registry at path under the registry lock:
// it removes the temporary files of writers killed mid-write, loads the
// registry, lets edit change it, and saves it crash-safely. An error from
// edit leaves the file untouched.
func UpdateRegistry(path string, edit func(*Registry) error) error {
	unlock, err := LockRegistry(path)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := atomicfile.RemoveStale(filepath.Dir(path)); err != nil {
		return fmt.Errorf("registry: stale temporary files: %w", err)
	}
	r, err := LoadRegistry(path)
	if err != nil {
		return err
	}
	if err := edit(r); err != nil {
		return err
	}
	return r.Save(path)
}

// MediaError is a boot medium of a VM (kernel, initrd, disk) that does not
// exist or is not usable; Flag names the field or flag that gave it.
type MediaError struct {
	Flag, Path string
	Err        error
}

func (e *MediaError) Error() string { return fmt.Sprintf("%s %s: %v", e.Flag, e.Path, e.Err) }

// CheckMedia checks that the VM's kernel, initrd and disk exist, relative
// paths resolving in dir (the VM's folder, RAYOS_DATA/vm/<id>/). Kernels
// and initrds must be regular files; a disk may also be a block device.
// flag maps a field (kernel, initrd, disk) to the name to report it by.
func (vm VM) CheckMedia(dir string, flag func(field string) string) error {
	var errs []error
	for _, m := range []struct {
		field, path string
		block       bool
	}{{"kernel", vm.Kernel, false}, {"initrd", vm.Initrd, false}, {"disk", vm.Disk, true}} {
		if m.path == "" {
			continue
		}
		full := m.path
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, full)
		}
		if err := usableMedium(full, m.block); err != nil {
			errs = append(errs, &MediaError{Flag: flag(m.field), Path: m.path, Err: err})
		}
	}
	return errors.Join(errs...)
}

func usableMedium(path string, block bool) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s does not exist", path)
	case err != nil:
		return err
	case info.Mode().IsRegular():
		return nil
	case block && info.Mode()&os.ModeDevice != 0 && info.Mode()&os.ModeCharDevice == 0:
		return nil
	}
	kind := "not a regular file"
	if block {
		kind = "neither a regular file nor a block device"
	}
	return fmt.Errorf("%s is %s (%s)", path, kind, strings.TrimPrefix(info.Mode().Type().String(), "-"))
}
