package boot

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The watcher reads a replaced policy by the boot's rules: a FIFO swapped
// in must not hang it (a later, valid replacement still arrives).
func TestWatchFileSkipsAFIFOAndKeepsWatching(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rayos-policy.toml")
	os.WriteFile(path, []byte("version = 1\n"), 0o644)
	updates, stop := watchFile(path, identify(path), 5*time.Millisecond)
	defer stop()
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the watcher see the FIFO
	tmp := path + ".new"
	os.WriteFile(tmp, []byte("version = 1\n# replaced\n"), 0o644)
	os.Rename(tmp, path)
	select {
	case text := <-updates:
		if !strings.Contains(text, "# replaced") {
			t.Errorf("update %q", text)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watcher is stuck on the FIFO")
	}
}

func TestInstanceLockNamesTheHolderAndIsReleasedWithIt(t *testing.T) {
	dir := t.TempDir()
	// Another process holds the lock: flock(1) on the folder, which then
	// becomes (--no-fork) a sleep.
	holder := exec.Command("flock", "--exclusive", "--no-fork", dir, "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var l *dataLock
		if l, err = lockData(dir); err != nil {
			break
		}
		l.release() // flock(1) has not taken it yet
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, ErrDataInUse) {
		t.Fatalf("lock held elsewhere: %v", err)
	}
	want := dir + " is in use by pid " + strconv.Itoa(holder.Process.Pid) + " (sleep 60)"
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	holder.Process.Kill()
	holder.Wait()
	l, err := lockData(dir)
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	// The same process cannot take it twice either (a second runtime in
	// one process, as the benchmarks run).
	if _, err := lockData(dir); !errors.Is(err, ErrDataInUse) {
		t.Errorf("second lock in the same process: %v", err)
	}
	l.release()
}

func TestDevNumbersSplitLikeTheKernel(t *testing.T) {
	// makedev(259, 70000) in glibc's encoding.
	dev := uint64(259&0xfff)<<8 | uint64(259&^0xfff)<<32 | uint64(70000&0xff) | uint64(70000&^0xff)<<12
	if devMajor(dev) != 259 || devMinor(dev) != 70000 {
		t.Errorf("major %d minor %d", devMajor(dev), devMinor(dev))
	}
}
