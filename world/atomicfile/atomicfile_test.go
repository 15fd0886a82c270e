package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteReplacesWholeOrNotAtAll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.toml")
	if err := WriteBytes(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Write(path, 0o600, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("a failing write reported success")
	}
	if data, _ := os.ReadFile(path); string(data) != "one" {
		t.Errorf("a failed write left %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode())
	}
}

func TestTemporaryFilesAreRecognisedAndStaleOnesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.toml")
	var during []string
	err := Write(path, 0o640, func(w io.Writer) error {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			during = append(during, e.Name())
		}
		_, err := w.Write([]byte("x"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || !IsTemp(during[0]) {
		t.Fatalf("while writing, the folder held %v, want one temporary file named %s…", during, TempPrefix)
	}
	// A killed writer leaves its temporary file; nothing else is touched.
	for _, name := range []string{during[0], ".registry.toml.123", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("left"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(dir)
	if err != nil || len(removed) != 1 || removed[0] != during[0] {
		t.Errorf("RemoveStale = %v, %v; want [%s]", removed, err, during[0])
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) != 3 {
		t.Errorf("after RemoveStale the folder holds %v", left)
	}
	if removed, err := RemoveStale(filepath.Join(dir, "missing")); err != nil || removed != nil {
		t.Errorf("a missing folder: %v, %v", removed, err)
	}
}

func TestReadRegularRefusesSpecialFilesAndBoundsSize(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.toml")
	os.WriteFile(ok, []byte("version = 1\n"), 0o600)
	if data, err := ReadRegular(ok, 100); err != nil || string(data) != "version = 1\n" {
		t.Errorf("regular file: %q, %v", data, err)
	}
	big := filepath.Join(dir, "big.toml")
	os.WriteFile(big, make([]byte, 101), 0o600)
	if _, err := ReadRegular(big, 100); err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "101 bytes") {
		t.Errorf("oversized file: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Without O_NONBLOCK the open of a FIFO with no writer never returns;
	// the call must come back with an error naming the file.
	done := make(chan error, 1)
	go func() { _, err := ReadRegular(fifo, 100); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
	for path, kind := range map[string]string{"/dev/zero": "character device", dir: "directory"} {
		if _, err := ReadRegular(path, 100); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), kind) {
			t.Errorf("%s: %v", path, err)
		}
	}
	if _, err := ReadRegular(filepath.Join(dir, "none"), 100); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
