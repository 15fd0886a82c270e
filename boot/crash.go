package boot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CrashReport is what a panic inside the runtime leaves in RAYOS_DATA/crash.
type CrashReport struct {
	Time    time.Time
	Panic   any
	Stack   []byte
	Tick    uint64
	Entry   string
	Markers []string
}

// Write saves the report as crash/<UTC time>.txt and returns its path.
func (c CrashReport) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	name := c.Time.UTC().Format("20060102T150405.000000000Z") + ".txt"
	path := filepath.Join(dir, name)
	var b strings.Builder
	fmt.Fprintf(&b, "RayOS crash report\n\ntime:    %s\nversion: rayos %s\nentry:   %s\ntick:    %d\npanic:   %v\n\n", c.Time.UTC().Format(time.RFC3339Nano), Version, c.Entry, c.Tick, c.Panic)
	fmt.Fprintf(&b, "last markers (oldest first):\n")
	for _, m := range c.Markers {
		fmt.Fprintf(&b, "  %s\n", m)
	}
	fmt.Fprintf(&b, "\nstack:\n%s", c.Stack)
	return path, writeBytes(path, []byte(b.String()))
}
