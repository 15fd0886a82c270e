// Package atomicfile writes files so that a crash or power loss leaves
// either the old content or the new, never a torn mix: RayOS's state files
// (policy, registry, boot state, snapshots) all go through it. It also
// reads RayOS's input files with bounds (ReadRegular), so that a FIFO or a
// device in place of a file cannot hang or exhaust a reader.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temporary file Write creates:
// ".rayos-tmp-<name>-<random>". The prefix is RayOS's alone, so a file
// that carries it and outlived its writer (killed mid-write) can be
// removed without guessing (RemoveStale).
const TempPrefix = ".rayos-tmp-"

// Write writes path through a temporary file in the same folder, fsynced
// and renamed over path, then fsyncs the folder so the rename itself is
// durable; write fills the temporary file. On error path is untouched.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// WriteBytes is Write for a byte slice.
func WriteBytes(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// IsTemp reports whether name (a base name) is one of Write's temporary
// files.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }

// RemoveStale removes the temporary files Write left in dir (not in its
// subfolders) when its writer was killed. The caller must hold whatever
// lock keeps other writers out of dir, or it could remove a file that is
// being written. A missing dir has nothing stale. It returns the names
// removed; the error joins every removal that failed.
func RemoveStale(dir string) (removed []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		if !IsTemp(e.Name()) || e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}
