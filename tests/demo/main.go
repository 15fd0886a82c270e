// Command demo is `make demo`: one command from a checkout to a real
// Linux guest on screen in the debug viewer. It builds the tiny test guest
// if it is missing (tests/testguest/build.sh, cached), starts a private
// libvirtd as the end-to-end tests do (guests/daemon), boots RayOS on a
// fresh RAYOS_DATA under bin/demo attached to it with the viewer on
// 127.0.0.1:7777, presents the guest once it is ready, and prints the
// viewer's address. Ctrl-C stops RayOS (which saves the guest), the guest
// and the daemon.
//
// Needs root (the private libvirtd's mount namespace) and what `make deps`
// installs. Flags: -addr (viewer address), -rayos (the binary to run).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rayos/engine/guests/daemon"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7777", "the viewer's address (loopback)")
	bin := flag.String("rayos", "bin/rayos", "the rayos binary (make demo builds it)")
	flag.Parse()
	if err := run(*addr, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(addr, bin string) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root: the private libvirtd runs in its own mount namespace (run `sudo make demo`)")
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (make demo builds it)", bin, err)
	}
	root, err := filepath.Abs(filepath.Join("bin", "demo"))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	data := filepath.Join(root, "data")

	step("building the test guest (cached after the first time)")
	out, err := exec.Command("bash", "tests/testguest/build.sh").CombinedOutput()
	if err != nil {
		return fmt.Errorf("tests/testguest/build.sh: %w\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	cache := lines[len(lines)-1]

	step("starting a private libvirtd")
	d, err := daemon.Start(filepath.Join(root, "libvirt"))
	if err != nil {
		return err
	}
	defer d.Stop()

	step("first boot: writing RAYOS_DATA")
	if out, err := exec.Command(bin, "boot", "--data", data, "--ticks", "1", "--hz", "1000", "--log-level", "warn").CombinedOutput(); err != nil {
		return fmt.Errorf("first boot: %w\n%s", err, out)
	}
	registry := fmt.Sprintf(`version = 1
[vm.linux]
os = "linux"
autostart = true
memory_mib = 256
vcpus = 1
label = "orange"
kernel = %q
initrd = %q
cmdline = "console=ttyS0 quiet"
ready = "RAYOS_TESTGUEST_READY"
`, filepath.Join(cache, "vmlinuz"), filepath.Join(cache, "initrd.gz"))
	policy := `version = 1
[guests.linux]
start = true
present = true
shutdown = true
inputs = ["type", "press", "mouse", "click"]
`
	if err := os.WriteFile(filepath.Join(data, "vm", "registry.toml"), []byte(registry), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(data, "policy", "rayos-policy.toml"), []byte(policy), 0o644); err != nil {
		return err
	}

	step("booting RayOS with the viewer on " + addr)
	rayos := exec.Command(bin, "boot", "--data", data, "--hz", "60", "--libvirt-socket", d.Socket, "--libvirt-uri", "qemu:///system", "--viewer", addr)
	rayos.Stderr = os.Stderr
	stdout, err := rayos.StdoutPipe()
	if err != nil {
		return err
	}
	if err := rayos.Start(); err != nil {
		return err
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		rayos.Process.Signal(sig)
	}()
	ready, serving := make(chan struct{}), make(chan struct{})
	go follow(stdout, ready, serving)
	go func() {
		<-serving
		// The token lets the page act (present, hide, …); it is in
		// RAYOS_DATA/viewer.token, readable by its owner only.
		url := "http://" + addr + "/"
		for range 50 { // written right after the marker
			if token, err := os.ReadFile(filepath.Join(data, "viewer.token")); err == nil && len(token) > 0 {
				url += "?token=" + strings.TrimSpace(string(token))
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprintf(os.Stderr, "\n  The viewer is up: open %s\n  (the guest appears once it has booted; Ctrl-C stops RayOS, the guest and libvirtd)\n\n", url)
		select {
		case <-ready:
			step("the guest is ready: presenting it")
			if out, err := exec.Command(bin, "ctl", "--data", data, "present", "linux").CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "demo: present linux: %v: %s\n", err, out)
			}
		case <-time.After(2 * time.Minute):
			fmt.Fprintln(os.Stderr, "demo: the guest did not report ready within 2 minutes; see", filepath.Join(data, "vm", "linux", "serial.log"))
		}
	}()
	err = rayos.Wait()
	step("stopping the guest and libvirtd")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		err = nil
	}
	return err
}

// follow copies RayOS's markers to stdout; it closes serving at the
// viewer's boot marker and ready at the guest's readiness marker.
func follow(r io.Reader, ready, serving chan<- struct{}) {
	sc := bufio.NewScanner(r)
	isReady, isServing := false, false
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		if !isServing && strings.HasPrefix(line, "RAYOS_BOOT:viewer:") {
			isServing = true
			close(serving)
		}
		if !isReady && line == "RAYOS_GUEST:linux:ready" {
			isReady = true
			close(ready)
		}
	}
}

func step(what string) { fmt.Fprintf(os.Stderr, "demo: %s\n", what) }
