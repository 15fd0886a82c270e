package guests_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rayos/engine/guests"
)

func TestUpdateRegistryKeepsEveryConcurrentEdit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vm")
	os.MkdirAll(dir, 0o750)
	path := filepath.Join(dir, "registry.toml")
	if err := os.WriteFile(path, []byte(guests.DefaultRegistry), 0o640); err != nil {
		t.Fatal(err)
	}
	// A temporary file a killed writer left behind is cleaned up.
	stale := filepath.Join(dir, ".rayos-tmp-registry.toml-77")
	os.WriteFile(stale, []byte("half"), 0o600)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := guests.UpdateRegistry(path, func(r *guests.Registry) error {
				return r.Add(fmt.Sprintf("vm%02d", i), guests.VM{OS: "linux", MemoryMiB: 256, VCPUs: 1})
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r, err := guests.LoadRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.VMs) != 18 {
		t.Errorf("registry holds %d VMs after 16 concurrent adds, want 18: %v", len(r.VMs), r.IDs())
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("the stale temporary file is still there")
	}
	// A refused edit leaves the file as it was.
	before, _ := os.ReadFile(path)
	err = guests.UpdateRegistry(path, func(r *guests.Registry) error { return r.Remove("ghost") })
	if err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("removing a missing VM: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused edit changed the registry")
	}
}

func TestTryLockRegistryFailsWhileHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.toml")
	unlock, err := guests.LockRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guests.TryLockRegistry(path); err == nil {
		t.Error("the registry lock was taken twice")
	}
	unlock()
	again, err := guests.TryLockRegistry(path)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

func TestCheckMediaNamesTheFlagAndPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vmlinuz"), []byte("k"), 0o644)
	flag := func(field string) string { return "--" + field }
	ok := guests.VM{Kernel: "vmlinuz", Initrd: filepath.Join(dir, "vmlinuz")}
	if err := ok.CheckMedia(dir, flag); err != nil {
		t.Errorf("existing media: %v", err)
	}
	bad := guests.VM{Kernel: "nope", Disk: dir}
	err := bad.CheckMedia(dir, flag)
	var me *guests.MediaError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "--kernel nope: "+filepath.Join(dir, "nope")+" does not exist") ||
		!strings.Contains(err.Error(), "--disk "+dir+": "+dir+" is neither a regular file nor a block device") {
		t.Errorf("missing media: %v", err)
	}
}

func TestLoadRegistryRefusesSpecialFiles(t *testing.T) {
	if _, err := guests.LoadRegistry("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero: not a regular file") {
		t.Errorf("/dev/zero: %v", err)
	}
}
