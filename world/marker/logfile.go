package marker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// LogFile is an append-only marker log bounded by rotation: before a write
// would take the file past its size limit, path becomes path.1 (path.1
// becomes path.2, …, and the oldest beyond keep is dropped) and a new path
// is started. The log of a system that runs for years therefore never
// holds more than (keep+1) × limit bytes. Lines are never split between
// two files.
type LogFile struct {
	path  string
	limit int64
	keep  int
	f     *os.File
	size  int64
}

// OpenLogFile opens (or creates) path for appending.
func OpenLogFile(path string, limit int64, keep int) (*LogFile, error) {
	l := &LogFile{path: path, limit: limit, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", l.path, err)
	}
	l.f, l.size = f, info.Size()
	return nil
}

// Write appends p (one or more whole lines), rotating first if p would not
// fit. A file that could not be rotated or reopened is retried on the next
// write; until then lines are refused with the error rather than growing
// the file past its limit.
func (l *LogFile) Write(p []byte) (int, error) {
	if l.f == nil {
		if err := l.open(); err != nil {
			return 0, err
		}
	}
	if l.size > 0 && l.size+int64(len(p)) > l.limit {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate shifts path.N-1 → path.N, …, path → path.1 and opens a new path.
func (l *LogFile) rotate() error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if l.keep == 0 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return l.open()
	}
	for i := l.keep - 1; i >= 1; i-- {
		if err := os.Rename(l.numbered(i), l.numbered(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(l.path, l.numbered(1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return l.open()
}

func (l *LogFile) numbered(i int) string { return l.path + "." + strconv.Itoa(i) }

// Close closes the current file.
func (l *LogFile) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
