package guests

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world/atomicfile"
	"github.com/rayos/engine/world/tomlpos"
)

// RegistryVersion is the registry format this build reads.
const RegistryVersion = 1

// Registry is vm/registry.toml: every VM RayOS manages, by stable id.
type Registry struct {
	Version int           `toml:"version"`
	VMs     map[string]VM `toml:"vm"`
}

// VM is one registry entry. Its disks and saved state live in
// RAYOS_DATA/vm/<id>/.
type VM struct {
	// OS is "linux" or "windows".
	OS string `toml:"os"`
	// Autostart VMs start (hidden) at boot.
	Autostart bool `toml:"autostart"`
	// MemoryMiB and VCPUs size the VM; the policy may cap both.
	MemoryMiB int `toml:"memory_mib"`
	VCPUs     int `toml:"vcpus"`
	// Disk is a disk image, relative to vm/<id>/ unless absolute.
	Disk string `toml:"disk,omitempty"`
	// Kernel, Initrd and Cmdline boot a Linux kernel directly (no disk
	// boot loader), as the harness guests do.
	Kernel  string `toml:"kernel,omitempty"`
	Initrd  string `toml:"initrd,omitempty"`
	Cmdline string `toml:"cmdline,omitempty"`
	// Ready is a line the guest prints on its serial console once it is
	// up; RayOS then marks it RAYOS_GUEST:<id>:ready.
	Ready string `toml:"ready,omitempty"`
	// Label is the guest's trust label, the colour of the border and
	// title bar RayOS draws around its desktop: red (the default),
	// orange, yellow, green, gray, blue, purple or black.
	Label string `toml:"label,omitempty"`
}

// TrustLabel is vm's label, red when it names none.
func (vm VM) TrustLabel() components.TrustLabel {
	l, _ := components.ParseTrustLabel(vm.Label)
	return l
}

// DefaultRegistry is the registry first boot writes: the two harness
// guests, started hidden at boot.
const DefaultRegistry = `# RayOS VM registry — RAYOS_DATA/vm/registry.toml
# One [vm.<id>] table per guest; <id> is stable and names vm/<id>/ (disks, saved state).
# Edit with: rayos guest add|remove, or by hand and check with: rayos guest list
version = 1

[vm.linux]
os = "linux"
autostart = true   # started hidden at boot
memory_mib = 512
vcpus = 1
label = "orange"   # trust label: the colour of its window border (red, orange, yellow, green, gray, blue, purple, black)

[vm.windows]
os = "windows"
autostart = true
memory_mib = 4096
vcpus = 2
label = "blue"
`

// LoadRegistry reads and validates the registry at path: a regular file
// of at most 1 MiB (a FIFO or a device in its place is refused, not read).
func LoadRegistry(path string) (*Registry, error) {
	data, err := atomicfile.ReadRegular(path, atomicfile.MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return ParseRegistry(path, string(data))
}

// ParseRegistry validates registry text. Every problem is reported, each
// as "name:line: key: problem".
func ParseRegistry(name, text string) (*Registry, error) {
	var r Registry
	md, err := toml.Decode(text, &r)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "toml: "))
	}
	lines := tomlpos.KeyLines(text)
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, lines[key], key, fmt.Sprintf(format, args...)))
	}
	for _, k := range md.Undecoded() {
		bad(k.String(), "unknown key")
	}
	if r.Version != RegistryVersion {
		bad("version", "%d is not supported (this build reads %d)", r.Version, RegistryVersion)
	}
	for _, id := range r.IDs() {
		key := "vm." + tomlpos.Key(id)
		if err := ValidID(id); err != nil {
			bad(key, "%v", err)
		}
		problems = append(problems, r.VMs[id].problems(func(field string) string {
			return fmt.Sprintf("%s:%d: %s.%s", name, lines[key+"."+field], key, field)
		})...)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return &r, nil
}

// ValidID reports an id that cannot name a VM folder or a marker field.
func ValidID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\n:%/\\.") {
		return fmt.Errorf("id %q must be 1–64 characters without spaces, '.', ':', '%%' or slashes", id)
	}
	return nil
}

// problems lists what is wrong with one entry; where names a field.
func (vm VM) problems(where func(field string) string) []string {
	var out []string
	if vm.OS != "linux" && vm.OS != "windows" {
		out = append(out, fmt.Sprintf("%s: %q is not linux or windows", where("os"), vm.OS))
	}
	if vm.MemoryMiB < 64 || vm.MemoryMiB > 1<<20 {
		out = append(out, fmt.Sprintf("%s: %d is out of range [64, 1048576]", where("memory_mib"), vm.MemoryMiB))
	}
	if vm.VCPUs < 1 || vm.VCPUs > 256 {
		out = append(out, fmt.Sprintf("%s: %d is out of range [1, 256]", where("vcpus"), vm.VCPUs))
	}
	if _, ok := components.ParseTrustLabel(vm.Label); vm.Label != "" && !ok {
		out = append(out, fmt.Sprintf("%s: %q is not one of %s", where("label"), vm.Label, strings.Join(components.TrustLabelNames[:], ", ")))
	}
	if vm.Initrd != "" && vm.Kernel == "" {
		out = append(out, fmt.Sprintf("%s: an initrd needs a kernel", where("initrd")))
	}
	return out
}

// IDs lists the VM ids, sorted.
func (r *Registry) IDs() []string { return slices.Sorted(maps.Keys(r.VMs)) }

// Add validates and adds a VM; the id must be new.
func (r *Registry) Add(id string, vm VM) error {
	if err := ValidID(id); err != nil {
		return err
	}
	if _, ok := r.VMs[id]; ok {
		return fmt.Errorf("vm %q is already in the registry", id)
	}
	if p := vm.problems(func(field string) string { return "vm." + id + "." + field }); len(p) > 0 {
		return errors.New(strings.Join(p, "\n"))
	}
	if r.VMs == nil {
		r.VMs = map[string]VM{}
	}
	r.VMs[id] = vm
	return nil
}

// Remove drops a VM; it must exist.
func (r *Registry) Remove(id string) error {
	if _, ok := r.VMs[id]; !ok {
		return fmt.Errorf("vm %q is not in the registry (have: %s)", id, strings.Join(r.IDs(), ", "))
	}
	delete(r.VMs, id)
	return nil
}

// Save writes the registry crash-safely (temporary file, fsync, rename).
func (r *Registry) Save(path string) error {
	var buf bytes.Buffer
	buf.WriteString("# RayOS VM registry — written by rayos guest add/remove; see docs/guests.md\n")
	r.Version = RegistryVersion
	if err := toml.NewEncoder(&buf).Encode(r); err != nil {
		return err
	}
	// What is saved must load: never write a registry the next boot rejects.
	if _, err := ParseRegistry(path, buf.String()); err != nil {
		return fmt.Errorf("refusing to save an invalid registry: %w", err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes(), 0o640)
}

// Dir is the folder of VM id's disks and state under RAYOS_DATA.
func Dir(data, id string) string { return filepath.Join(data, "vm", id) }
