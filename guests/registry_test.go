package guests_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/guests"
)

func TestDefaultRegistryLoads(t *testing.T) {
	r, err := guests.ParseRegistry("registry.toml", guests.DefaultRegistry)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.IDs(), ",") != "linux,windows" || !r.VMs["linux"].Autostart {
		t.Errorf("%+v", r)
	}
}

func TestRegistryErrorsNameLineAndKey(t *testing.T) {
	cases := map[string]string{
		"version = 1\n[vm.linux]\nos = \"linux\"\nmemory_mib = 512\nvcpus = 1\ncolour = 3\n": "r.toml:6: vm.linux.colour: unknown key",
		"version = 1\n[vm.linux]\nos = \"beos\"\nmemory_mib = 512\nvcpus = 1\n":              `r.toml:3: vm.linux.os: "beos" is not linux or windows`,
		"version = 1\n[vm.linux]\nos = \"linux\"\nmemory_mib = 8\nvcpus = 1\n":               "r.toml:4: vm.linux.memory_mib: 8 is out of range",
		"version = 1\n[vm.linux]\nos = \"linux\"\nmemory_mib = 512\nvcpus = 0\n":             "r.toml:5: vm.linux.vcpus: 0 is out of range",
		"version = 1\n[vm.\"a b\"]\nos = \"linux\"\nmemory_mib = 512\nvcpus = 1\n":           `r.toml:2: vm."a b": id "a b" must be`,
		"version = 2\n": "r.toml:1: version: 2 is not supported",
		"version = 1\n[vm.linux]\nos = \"linux\"\nmemory_mib = \"lots\"\n":                       "memory_mib",
		"version = 1\n[vm.linux]\nos = \"linux\"\nmemory_mib = 512\nvcpus = 1\ninitrd = \"i\"\n": "vm.linux.initrd: an initrd needs a kernel",
	}
	for text, want := range cases {
		_, err := guests.ParseRegistry("r.toml", text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

func TestRegistryAddRemoveSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.toml")
	r, _ := guests.ParseRegistry("r", guests.DefaultRegistry)
	if err := r.Add("dev", guests.VM{OS: "linux", MemoryMiB: 256, VCPUs: 1, Kernel: "vmlinuz", Initrd: "initrd.gz", Cmdline: "console=ttyS0"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add("dev", guests.VM{OS: "linux", MemoryMiB: 256, VCPUs: 1}); err == nil {
		t.Error("a duplicate id was added")
	}
	if err := r.Add("bad/id", guests.VM{OS: "linux", MemoryMiB: 256, VCPUs: 1}); err == nil {
		t.Error("an id with a slash was added")
	}
	if err := r.Add("tiny", guests.VM{OS: "linux", MemoryMiB: 1, VCPUs: 1}); err == nil || !strings.Contains(err.Error(), "memory_mib") {
		t.Errorf("an invalid VM was added: %v", err)
	}
	if err := r.Remove("windows"); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove("windows"); err == nil || !strings.Contains(err.Error(), "have: dev, linux") {
		t.Errorf("removing a missing VM: %v", err)
	}
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := guests.LoadRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.IDs(), ",") != "dev,linux" || back.VMs["dev"].Cmdline != "console=ttyS0" {
		t.Errorf("read back %+v", back)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("save left temporary files: %v", entries)
	}
}

func TestDomainXMLFollowsThePolicy(t *testing.T) {
	base := guests.DomainSpec{ID: "linux", Dir: "/var/rayos/vm/linux",
		VM: guests.VM{OS: "linux", MemoryMiB: 2048, VCPUs: 4, Kernel: "vmlinuz", Initrd: "/boot/initrd", Cmdline: "console=ttyS0 a<b"}}
	closed, err := guests.DomainXML(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<domain type='qemu'>", "<name>rayos-linux</name>", "<uuid>" + guests.UUID("linux") + "</uuid>",
		"<memory unit='MiB'>2048</memory>", "<vcpu>4</vcpu>", "<kernel>/var/rayos/vm/linux/vmlinuz</kernel>", "<initrd>/boot/initrd</initrd>",
		"<cmdline>console=ttyS0 a&lt;b</cmdline>", "serial.log", "<video><model type='vga'/>"} {
		if !strings.Contains(closed, want) {
			t.Errorf("XML lacks %q:\n%s", want, closed)
		}
	}
	for _, banned := range []string{"<interface", "bus='virtio'"} {
		if strings.Contains(closed, banned) {
			t.Errorf("with no policy grants the XML has %q", banned)
		}
	}
	open := base
	open.Limits = guests.Limits{Network: true, CPUs: 2, MemoryMiB: 1024, Devices: []string{"input", "gpu", "net"}}
	x, _ := guests.DomainXML(open)
	for _, want := range []string{"<interface type='user'>", "<vcpu>2</vcpu>", "<memory unit='MiB'>1024</memory>", "<input type='tablet' bus='virtio'/>", "<model type='virtio' heads='1'/>"} {
		if !strings.Contains(x, want) {
			t.Errorf("open XML lacks %q", want)
		}
	}
	netNoDevice := base
	netNoDevice.Limits = guests.Limits{Network: true}
	if x, _ := guests.DomainXML(netNoDevice); strings.Contains(x, "<interface") {
		t.Error("network without the net device still got an interface")
	}
	if guests.UUID("linux") == guests.UUID("windows") || guests.UUID("linux") != guests.UUID("linux") {
		t.Error("UUIDs are not stable per id")
	}
}
