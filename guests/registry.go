package guests

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// RegistryVersion is the registry format this build reads.
const RegistryVersion = 1

// Registry is vm/registry.toml: every VM RayOS manages.
type Registry struct {
	Version int           `toml:"version"`
	VMs     map[string]VM `toml:"vm"`
}

// VM is one registry entry.
type VM struct {
	// OS is "linux" or "windows".
	OS string `toml:"os"`
	// Autostart VMs start (hidden) at boot.
	Autostart bool `toml:"autostart"`
	// MemoryMiB and VCPUs size the VM (the policy may cap them).
	MemoryMiB int `toml:"memory_mib"`
	VCPUs     int `toml:"vcpus"`
}

// DefaultRegistry is the registry first boot writes: the two harness
// guests, started hidden at boot.
const DefaultRegistry = `# RayOS VM registry — RAYOS_DATA/vm/registry.toml
# One [vm.<id>] table per guest; <id> is stable and names vm/<id>/ (disks, saved state).
version = 1

[vm.linux]
os = "linux"
autostart = true   # started hidden at boot
memory_mib = 512
vcpus = 1

[vm.windows]
os = "windows"
autostart = true
memory_mib = 4096
vcpus = 2
`

// LoadRegistry reads and validates the registry at path. Errors name the
// file and the key.
func LoadRegistry(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return ParseRegistry(path, string(data))
}

// ParseRegistry validates registry text; name is used in errors.
func ParseRegistry(name, text string) (*Registry, error) {
	var r Registry
	md, err := toml.Decode(text, &r)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "toml: "))
	}
	var problems []string
	for _, k := range md.Undecoded() {
		problems = append(problems, fmt.Sprintf("%s: %s: unknown key", name, k.String()))
	}
	if r.Version != RegistryVersion {
		problems = append(problems, fmt.Sprintf("%s: version: %d is not supported (this build reads %d)", name, r.Version, RegistryVersion))
	}
	for _, id := range r.IDs() {
		vm := r.VMs[id]
		key := name + ": vm." + id
		if id == "" || strings.ContainsAny(id, " \t:%/\\\n") {
			problems = append(problems, fmt.Sprintf("%s: id must be non-empty without spaces, ':', '%%' or slashes", key))
		}
		if vm.OS != "linux" && vm.OS != "windows" {
			problems = append(problems, fmt.Sprintf("%s.os: %q is not linux or windows", key, vm.OS))
		}
		if vm.MemoryMiB < 64 || vm.MemoryMiB > 1<<20 {
			problems = append(problems, fmt.Sprintf("%s.memory_mib: %d is out of range [64, 1048576]", key, vm.MemoryMiB))
		}
		if vm.VCPUs < 1 || vm.VCPUs > 256 {
			problems = append(problems, fmt.Sprintf("%s.vcpus: %d is out of range [1, 256]", key, vm.VCPUs))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return &r, nil
}

// IDs lists the VM ids, sorted.
func (r *Registry) IDs() []string {
	return slices.Sorted(maps.Keys(r.VMs))
}
