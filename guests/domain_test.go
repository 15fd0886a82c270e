package guests_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/guests"
)

// A VM without boot media, or with media that is not there, is refused
// before it is defined for an emulator — with what to do about it.
func TestBootMediaAreRequired(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vmlinuz"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		vm   guests.VM
		want string
	}{
		{guests.VM{OS: "windows"}, "vm w has no boot media: give it a disk or a kernel"},
		{guests.VM{Disk: "disk.qcow2"}, "its disk " + filepath.Join(dir, "disk.qcow2") + " is not a file"},
		{guests.VM{Kernel: "vmlinuz", Initrd: "/nonexistent/initrd"}, "its initrd /nonexistent/initrd is not a file"},
		{guests.VM{Kernel: "vmlinuz"}, ""},
	} {
		err := guests.DomainSpec{ID: "w", VM: c.vm, Dir: dir}.BootMedia()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.vm, err, c.want)
		}
	}
}
