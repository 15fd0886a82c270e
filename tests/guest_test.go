package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGuestRegistryCommands(t *testing.T) {
	dir := t.TempDir()
	if r := rayos(t, dir, "guest", "list", "--data", "data"); r.code == 0 || !strings.Contains(r.stderr, "registry.toml") {
		t.Errorf("list before first boot: exit %d %q", r.code, r.stderr)
	}
	boot(t, dir)
	reg := filepath.Join(dir, "data", "vm", "registry.toml")
	// Boot media must exist (relative paths resolve in vm/<id>/).
	r := rayos(t, dir, "guest", "add", "dev", "--data", "data", "--kernel", "vmlinuz")
	if r.code != 2 || !strings.Contains(r.stderr, "--kernel vmlinuz") {
		t.Errorf("add with a kernel that does not exist: exit %d %q", r.code, r.stderr)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data", "vm", "dev"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "vm", "dev", "vmlinuz"), []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = rayos(t, dir, "guest", "add", "dev", "--data", "data", "--memory", "256", "--kernel", "vmlinuz", "--cmdline", "console=ttyS0")
	if r.code != 0 {
		t.Fatalf("add: exit %d %s", r.code, r.stderr)
	}
	r = rayos(t, dir, "guest", "list", "--data", "data")
	mustContain(t, "list", r.stdout, "dev      linux", "kernel vmlinuz", "windows")
	before := readFile(t, reg)
	for _, args := range [][]string{
		{"guest", "add", "dev", "--data", "data"},                   // duplicate
		{"guest", "add", "big", "--data", "data", "--vcpus", "999"}, // out of range
		{"guest", "add", "a:b", "--data", "data"},                   // bad id
		{"guest", "remove", "ghost", "--data", "data"},              // missing
		{"guest", "add", "x", "--data", "data", "--os", "plan9"},    // unknown OS
	} {
		r := rayos(t, dir, args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if readFile(t, reg) != before {
		t.Error("a rejected change modified the registry")
	}
	r = rayos(t, dir, "guest", "show", "linux", "--data", "data")
	mustContain(t, "show", r.stdout, "policy:    network=false", "<name>rayos-linux</name>", "<vcpu>1</vcpu>")
	if strings.Contains(r.stdout, "<interface") {
		t.Error("show: the default policy's guest has a network interface")
	}
	if r := rayos(t, dir, "guest", "remove", "dev", "--data", "data"); r.code != 0 {
		t.Errorf("remove: exit %d %s", r.code, r.stderr)
	}
	// The next boot reads the edited registry.
	r = boot(t, dir)
	mustContain(t, "boot after edits", r.stdout, "RAYOS_BOOT:registry-loaded:vms=linux,windows")
	os.WriteFile(reg, []byte("version = 1\n[vm.linux]\nos = \"linux\"\nmemory_mib = 1\nvcpus = 1\n"), 0o644)
	r = boot(t, dir)
	if r.code != 1 || !strings.Contains(r.stdout, "RAYOS_BOOT:failed:stage=registry-loaded") {
		t.Errorf("invalid registry: exit %d\n%s", r.code, r.stdout)
	}
}
