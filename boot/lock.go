package boot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dataLock is the instance lock: an exclusive flock on the RAYOS_DATA
// folder itself. Locking the folder's own descriptor needs no lock file,
// so it works on a read-only data partition and leaves nothing behind; the
// kernel drops it when the process dies, kill -9 included, so a crashed
// instance never blocks the next boot.
type dataLock struct{ dir *os.File }

// ErrDataInUse is wrapped by the error lockData returns when another
// process holds RAYOS_DATA.
var ErrDataInUse = errors.New("in use")

// lockData takes the instance lock on dir without waiting. The folder
// must exist. When another process holds it, the error names that
// process: "<dir> is in use by pid N (<command line>)".
func lockData(dir string) (*dataLock, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := lockHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is %w by %s", dir, ErrDataInUse, holder)
		}
		return nil, fmt.Errorf("data dir %s: lock: %w", dir, err)
	}
	return &dataLock{dir: f}, nil
}

// release drops the lock (closing the descriptor does).
func (l *dataLock) release() {
	if l != nil && l.dir != nil {
		l.dir.Close()
		l.dir = nil
	}
}

// flock retries a lock call interrupted by a signal.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// lockHolder names the process holding a flock on f's file, from
// /proc/locks (matched by device and inode) and /proc/<pid>/cmdline:
// "pid 1234 (rayos boot --data /var/rayos)". It says "another process"
// when /proc cannot tell.
func lockHolder(f *os.File) string {
	info, err := f.Stat()
	if err != nil {
		return "another process"
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "another process"
	}
	pid := flockPID(uint64(st.Dev), st.Ino)
	if pid <= 0 {
		return "another process"
	}
	if cmd := cmdline(pid); cmd != "" {
		return fmt.Sprintf("pid %d (%s)", pid, cmd)
	}
	return fmt.Sprintf("pid %d", pid)
}

// flockPID finds the pid of a FLOCK lock on the file dev:ino in
// /proc/locks, whose lines read
// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (major and minor in
// hex, the inode in decimal). Lines of waiters ("1: -> FLOCK …") are
// skipped.
func flockPID(dev, ino uint64) int {
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	want := fmt.Sprintf("%02x:%02x:%d", devMajor(dev), devMinor(dev), ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		if fields[5] == want {
			pid, _ := strconv.Atoi(fields[4])
			return pid
		}
	}
	return 0
}

// devMajor and devMinor split a Linux dev_t (glibc's encoding).
func devMajor(dev uint64) uint64 { return (dev>>8)&0xfff | (dev>>32)&^0xfff }
func devMinor(dev uint64) uint64 { return dev&0xff | (dev>>12)&^0xff }

// cmdline is a process's command line with its arguments separated by
// spaces, cut to 200 bytes so a marker stays one readable line.
func cmdline(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
