package guests

import (
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Limits is what the policy allows a VM: the supervisor's view of a policy
// guest table, so that this package needs nothing from the policy engine.
type Limits struct {
	// Network gives the VM a network interface.
	Network bool
	// CPUs and MemoryMiB cap the registry's values; 0 leaves them.
	CPUs, MemoryMiB int
	// Devices lists the virtio devices that may be exposed: input, gpu, net.
	Devices []string
}

// DomainSpec is everything a domain definition is generated from.
type DomainSpec struct {
	ID     string
	VM     VM
	Limits Limits
	// Dir is the VM's folder (vm/<id>/); relative paths resolve in it.
	Dir string
	// Type is the libvirt domain type: "qemu" (software emulation, what
	// works everywhere) or "kvm"; "test" for the test driver.
	Type string
}

// BootMedia reports why the VM cannot boot: it has neither a disk nor a
// kernel (the default registry's windows has none until one is given), or
// one it names is not a file. Checked before a VM is defined for an
// emulator, so a start fails with this instead of a firmware screen or
// QEMU's error.
func (s DomainSpec) BootMedia() error {
	if s.VM.Disk == "" && s.VM.Kernel == "" {
		return fmt.Errorf("vm %s has no boot media: give it a disk or a kernel (rayos guest add %s --disk … or --kernel …, or vm/registry.toml)", s.ID, s.ID)
	}
	for _, m := range []struct{ key, path string }{{"disk", s.VM.Disk}, {"kernel", s.VM.Kernel}, {"initrd", s.VM.Initrd}} {
		if m.path == "" {
			continue
		}
		p := m.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.Dir, p)
		}
		if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() {
			return fmt.Errorf("vm %s: its %s %s is not a file", s.ID, m.key, p)
		}
	}
	return nil
}

// UUID is the VM's stable libvirt UUID, derived from its id so that
// re-defining the same VM never clashes with its earlier definition.
func UUID(id string) string {
	h := sha256.Sum256([]byte("rayos-vm:" + id))
	h[6] = h[6]&0x0f | 0x50 // version 5 style
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Name is the libvirt domain name of a VM.
func Name(id string) string { return "rayos-" + id }

// DomainXML generates the domain definition. The policy decides what is
// exposed: no <interface> at all unless Limits.Network, CPU and memory
// capped, and each virtio device only if Limits.Devices lists it.
func DomainXML(s DomainSpec) (string, error) {
	if err := ValidID(s.ID); err != nil {
		return "", err
	}
	vcpus, mem := s.VM.VCPUs, s.VM.MemoryMiB
	if s.Limits.CPUs > 0 {
		vcpus = min(vcpus, s.Limits.CPUs)
	}
	if s.Limits.MemoryMiB > 0 {
		mem = min(mem, s.Limits.MemoryMiB)
	}
	typ := s.Type
	if typ == "" {
		typ = "qemu"
	}
	path := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(s.Dir, p)
	}
	allowed := func(dev string) bool { return slices.Contains(s.Limits.Devices, dev) }

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	esc := func(v string) string {
		var e strings.Builder
		xml.EscapeText(&e, []byte(v))
		return e.String()
	}
	w("<domain type='%s'>\n", typ)
	w("  <name>%s</name>\n  <uuid>%s</uuid>\n", Name(s.ID), UUID(s.ID))
	w("  <metadata><rayos:vm xmlns:rayos='https://rayos.dev/vm/1' id='%s' os='%s'/></metadata>\n", esc(s.ID), esc(s.VM.OS))
	w("  <memory unit='MiB'>%d</memory>\n  <vcpu>%d</vcpu>\n", mem, vcpus)
	w("  <os>\n    <type arch='x86_64'>hvm</type>\n")
	if s.VM.Kernel != "" {
		w("    <kernel>%s</kernel>\n", esc(path(s.VM.Kernel)))
		if s.VM.Initrd != "" {
			w("    <initrd>%s</initrd>\n", esc(path(s.VM.Initrd)))
		}
		if s.VM.Cmdline != "" {
			w("    <cmdline>%s</cmdline>\n", esc(s.VM.Cmdline))
		}
	}
	w("  </os>\n  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n")
	w("  <devices>\n")
	if s.VM.Disk != "" {
		w("    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vda' bus='virtio'/></disk>\n", esc(path(s.VM.Disk)))
	}
	w("    <serial type='file'><source path='%s' append='on'/><target port='0'/></serial>\n", esc(filepath.Join(s.Dir, "serial.log")))
	w("    <console type='pty'><target type='serial' port='0'/></console>\n")
	// A PS/2 keyboard always: RayOS injects keys only while the guest is
	// presented and the policy allows it, gated before any call is made.
	w("    <input type='keyboard' bus='ps2'/>\n")
	if allowed("input") {
		w("    <input type='keyboard' bus='virtio'/>\n    <input type='tablet' bus='virtio'/>\n")
	}
	w("    <graphics type='vnc' listen='127.0.0.1' autoport='yes'/>\n")
	if allowed("gpu") {
		w("    <video><model type='virtio' heads='1'/></video>\n")
	} else {
		w("    <video><model type='vga'/></video>\n")
	}
	if s.Limits.Network && allowed("net") {
		w("    <interface type='user'><model type='virtio'/></interface>\n")
	}
	w("  </devices>\n</domain>\n")
	return b.String(), nil
}
