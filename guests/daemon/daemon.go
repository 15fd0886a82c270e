// Package daemon starts a private libvirtd for tests and tools: its own
// config, sockets, pid and log files in a folder, no systemd, stopped by
// its pid. Like httptest.NewServer, but for the hypervisor daemon.
//
// A root libvirtd uses fixed paths (/run/libvirt, /var/lib/libvirt, …), so
// each daemon runs in a private mount namespace (unshare -m) with private
// folders bind-mounted over those paths and a qemu.conf that runs QEMU as
// root: several daemons can coexist and nothing machine-wide is touched
// beyond creating those (empty) mount points. virtlogd runs beside it, as
// the QEMU driver requires. Needs root, util-linux's unshare and Debian's
// libvirt-daemon, libvirt-daemon-driver-qemu and qemu-system-x86 (make
// deps installs them, and the libvirt-qemu user the QEMU driver insists on).
package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemon is a running private libvirtd.
type Daemon struct {
	// Dir holds everything of the daemon.
	Dir string
	// Socket is the read-write unix socket to connect to.
	Socket string
}

// mounts are the fixed libvirt paths given private folders.
var mounts = []string{"/run/libvirt", "/var/lib/libvirt", "/etc/libvirt", "/var/log/libvirt", "/var/cache/libvirt"}

// Start launches virtlogd and libvirtd in dir (created if needed) and
// waits until the socket accepts connections.
func Start(dir string) (*Daemon, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("daemon: a private libvirtd needs root (for its mount namespace)")
	}
	for _, bin := range []string{"unshare", "libvirtd", "virtlogd"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("daemon: %s not found: run `make deps`", bin)
		}
	}
	d := &Daemon{Dir: dir, Socket: filepath.Join(dir, "run", "libvirt-sock")}
	var script strings.Builder
	for i, m := range mounts {
		private := filepath.Join(dir, "root", strconv.Itoa(i))
		if err := os.MkdirAll(private, 0o700); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(m, 0o755); err != nil {
			return nil, fmt.Errorf("daemon: mount point %s: %w", m, err)
		}
		fmt.Fprintf(&script, "mount --bind %q %q && ", private, m)
	}
	files := map[string]string{
		"libvirtd.conf": fmt.Sprintf("unix_sock_dir = %q\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\nunix_sock_rw_perms = \"0700\"\nlog_outputs = \"3:file:%s\"\n",
			filepath.Join(dir, "run"), filepath.Join(dir, "libvirtd.log")),
		"virtlogd.conf": fmt.Sprintf("log_outputs = \"3:file:%s\"\n", filepath.Join(dir, "virtlogd.log")),
		// /etc/libvirt inside the namespace is mount 2.
		filepath.Join("root", "2", "qemu.conf"): "user = \"root\"\ngroup = \"root\"\n",
	}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, err
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(&script, "virtlogd -d -f %q -p %q && libvirtd -d -f %q -p %q",
		filepath.Join(dir, "virtlogd.conf"), filepath.Join(dir, "virtlogd.pid"),
		filepath.Join(dir, "libvirtd.conf"), filepath.Join(dir, "libvirtd.pid"))
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("daemon: start: %w: %s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if conn, err := dial(d.Socket); err == nil {
			conn.Close()
			return d, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
			d.Stop()
			return nil, fmt.Errorf("daemon: libvirtd did not open %s within 15 s; its log:\n%s", d.Socket, tail(string(log), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID returns the libvirtd process id.
func (d *Daemon) PID() (int, error) { return readPID(filepath.Join(d.Dir, "libvirtd.pid")) }

// Kill stops libvirtd abruptly (SIGKILL), as a crash would; virtlogd stays.
func (d *Daemon) Kill() error {
	pid, err := d.PID()
	if err != nil {
		return err
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

// Stop terminates the daemon's QEMU processes (libvirtd leaves running
// domains alone when it exits), then libvirtd and virtlogd, by their pids,
// and waits for them.
func (d *Daemon) Stop() error {
	var errs []error
	// /run/libvirt inside the namespace is mount 0; QEMU pid files live in
	// its qemu/ folder.
	pidFiles, _ := filepath.Glob(filepath.Join(d.Dir, "root", "0", "qemu", "*.pid"))
	for _, path := range append(pidFiles, filepath.Join(d.Dir, "libvirtd.pid"), filepath.Join(d.Dir, "virtlogd.pid")) {
		pid, err := readPID(path)
		if err != nil {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, err)
			continue
		}
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return errors.Join(errs...)
}

func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Restart starts libvirtd again after Kill, inside the same mount
// namespace (entered through the still-running virtlogd), as a system
// service manager would.
func (d *Daemon) Restart() error {
	vl, err := readPID(filepath.Join(d.Dir, "virtlogd.pid"))
	if err != nil {
		return err
	}
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(vl), "-m", "libvirtd", "-d",
		"-f", filepath.Join(d.Dir, "libvirtd.conf"), "-p", filepath.Join(d.Dir, "libvirtd.pid"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("daemon: restart: %w: %s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := dial(d.Socket); err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("daemon: libvirtd did not come back within 15 s")
}

// TB is the part of testing.TB that Private needs.
type TB interface {
	Helper()
	TempDir() string
	Fatal(args ...any)
	Cleanup(func())
}

// Private starts a daemon for one test and stops it, with its guests, when
// the test ends; like httptest.NewServer. make deps installs what it needs,
// so it fails rather than skips when something is missing.
func Private(t TB) *Daemon {
	t.Helper()
	d, err := Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}
