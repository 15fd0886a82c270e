package tests

import (
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rayos/engine/guests/daemon"
)

// testGuest builds the tiny test Linux guest if it is not cached yet
// (testguest/build.sh) and returns the folder holding its kernel and
// initramfs.
func testGuest(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", "testguest/build.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("build the test guest: %v\n%s", err, out)
	}
	built := strings.Split(strings.TrimSpace(string(out)), "\n")
	return built[len(built)-1]
}

// realGuestData makes a RAYOS_DATA (in a new temporary folder, returned)
// whose registry holds the tiny test guest from cache, autostarted with one
// vCPU, and whose policy lets it start, be shown and shut down and take
// every input.
func realGuestData(t *testing.T, cache string) string {
	t.Helper()
	dir := t.TempDir()
	boot(t, dir)
	write := func(path, text string) {
		if err := os.WriteFile(filepath.Join(dir, "data", path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vm/registry.toml", testGuestRegistry(cache, 1))
	write("policy/rayos-policy.toml", `version = 1
[guests.linux]
start = true
present = true
shutdown = true
inputs = ["type", "press", "mouse", "click"]
`)
	return dir
}

// The real thing: a tiny Linux guest (Debian's kernel, a busybox initramfs
// built by testguest/build.sh and cached) under QEMU through a private
// libvirtd. It starts hidden, its serial readiness line becomes
// RAYOS_GUEST:linux:ready, typed text reaches it only while presented.
func TestRealLinuxGuest(t *testing.T) {
	cache := testGuest(t)
	d := daemon.Private(t)
	dir := realGuestData(t, cache)
	r := startRayos(t, dir, "--hz", "50", "--libvirt-socket", d.Socket, "--libvirt-uri", "qemu:///system", "--frame", "frame.png")
	r.waitFor(t, "RAYOS_GUEST:linux:hidden")
	r.waitFor(t, "RAYOS_GUEST:linux:ready")
	serial := filepath.Join(dir, "data", "vm", "linux", "serial.log")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}
	if res := ctl("type", "linux", "secret"); res.code != 1 || !strings.Contains(res.stdout, "input.presented") {
		t.Errorf("type while hidden: exit %d %q", res.code, res.stdout)
	}
	for _, args := range [][]string{{"present", "linux"}, {"type", "linux", "hello"}, {"press", "linux", "enter"}, {"mouse", "linux", "10", "5"}, {"click", "linux"}} {
		if res := ctl(args...); res.code != 0 {
			t.Fatalf("ctl %v: exit %d %q", args, res.code, res.stdout)
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		log, _ := os.ReadFile(serial)
		if strings.Contains(string(log), "typed: hello") {
			if strings.Contains(string(log), "secret") {
				t.Error("text typed while the guest was hidden reached it")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest never echoed the typed line; serial log:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mustContain(t, "markers", r.output(), "RAYOS_GUEST:linux:presented\n", "RAYOS_AUDIT:type:guest=linux")
	time.Sleep(1500 * time.Millisecond) // a few display captures
	r.stop(t)
	// The guest's display arrived as pixels in its surface: its VGA text
	// console is black, which the placeholder checkerboard never is.
	f, err := os.Open(filepath.Join(dir, "frame.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	black := 0
	for y := 170; y < 550; y += 10 {
		for x := 490; x < 1110; x += 10 {
			if r, g, b, _ := img.At(x, y).RGBA(); r == 0 && g == 0 && b == 0 {
				black++
			}
		}
	}
	if black < 100 {
		t.Errorf("the presented guest's display is not in its surface (%d black samples)", black)
	}
	// Shutting RayOS down saves the guest's RAM; the next boot restores it
	// with its state: the same init, mid-loop, still echoing.
	mustContain(t, "teardown", r.output(), "RAYOS_GUEST:linux:saved\n")
	r2 := startRayos(t, dir, "--hz", "50", "--libvirt-socket", d.Socket, "--libvirt-uri", "qemu:///system")
	r2.waitFor(t, "RAYOS_AUDIT:restore:guest=linux result=ok")
	r2.waitFor(t, "RAYOS_GUEST:linux:ready")
	for _, args := range [][]string{{"present", "linux"}, {"type", "linux", "again"}, {"press", "linux", "enter"}} {
		if res := ctl(args...); res.code != 0 {
			t.Fatalf("after restore, ctl %v: exit %d %q", args, res.code, res.stdout)
		}
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		log, _ := os.ReadFile(serial)
		if strings.Contains(string(log), "typed: again") {
			if strings.Contains(string(log), "RAYOS_TESTGUEST_READY") && !strings.Contains(string(log), "typed: hello") {
				t.Error("the guest booted afresh instead of being restored")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restored guest never echoed; serial log:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r2.stop(t)
}

// testGuestRegistry is a VM registry with one autostart guest, linux: the
// tiny test guest (kernel and initramfs in cache) with vcpus vCPUs, ready
// when its console prints RAYOS_TESTGUEST_READY.
func testGuestRegistry(cache string, vcpus int) string {
	return fmt.Sprintf(`version = 1
[vm.linux]
os = "linux"
autostart = true
memory_mib = 256
vcpus = %d
kernel = %q
initrd = %q
cmdline = "console=ttyS0 quiet"
ready = "RAYOS_TESTGUEST_READY"
`, vcpus, filepath.Join(cache, "vmlinuz"), filepath.Join(cache, "initrd.gz"))
}
