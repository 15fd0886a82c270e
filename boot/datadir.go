package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DataDir is an opened RAYOS_DATA folder.
type DataDir struct {
	Path string
	// MarkerLog is logs/markers.log, opened for appending.
	MarkerLog *os.File
}

// CheckDataDir reports, without changing anything on disk, why path cannot
// serve as RAYOS_DATA: it exists but is not a folder, or its nearest
// existing ancestor is not a folder.
func CheckDataDir(path string) error {
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.IsDir():
		return fmt.Errorf("data dir %s: exists and is not a directory", path)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data dir %s: %w", path, err)
	}
	parent := filepath.Dir(filepath.Clean(path))
	if parent == path {
		return nil
	}
	if err := CheckDataDir(parent); err != nil {
		return fmt.Errorf("data dir %s: cannot be created: %w", path, err)
	}
	return nil
}

// OpenDataDir creates path and its logs/ folder if needed and opens the
// marker log. Every error names the path that failed.
func OpenDataDir(path string) (*DataDir, error) {
	if err := CheckDataDir(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", path, err)
	}
	logs := filepath.Join(path, "logs")
	if err := os.MkdirAll(logs, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", path, err)
	}
	logPath := filepath.Join(logs, "markers.log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: marker log: %w", path, err)
	}
	return &DataDir{Path: path, MarkerLog: f}, nil
}

// Close closes the marker log.
func (d *DataDir) Close() error { return d.MarkerLog.Close() }
