package tests

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recoveryCeiling bounds every wait in the recovery tests: a ceiling for
// a stuck run (the defects these tests catch are hangs), not a timing
// assertion.
const recoveryCeiling = 60 * time.Second

// waitForFile waits until the file at path contains want.
func waitForFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(recoveryCeiling)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && strings.Contains(string(data), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never contained %q within %v", path, want, recoveryCeiling)
}

// tempFiles lists RayOS temporary files (atomicfile's .rayos-tmp-*) under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), ".rayos-tmp-") {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// drain reads r to EOF in the background; the result arrives on the channel.
func drain(r io.Reader) <-chan string {
	c := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(r)
		c <- string(data)
	}()
	return c
}

func recoveryTimeout() <-chan time.Time { return time.After(recoveryCeiling) }
