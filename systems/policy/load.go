package policy

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rayos/engine/world/atomicfile"
	"github.com/rayos/engine/world/tomlpos"
)

//go:embed default-policy.toml
var defaultPolicy string

// Default returns the commented policy that first boot writes.
func Default() string { return defaultPolicy }

// LoadFile reads and compiles the policy at path, which must be a regular
// file of at most atomicfile.MaxConfigSize bytes (a FIFO or a device is
// refused, never read).
func LoadFile(path string) (*Policy, error) {
	data, err := atomicfile.ReadRegular(path, atomicfile.MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Load(path, string(data))
}

// Load parses, validates and compiles a policy. name is used in errors,
// which name the line and key: "rayos-policy.toml:12: guests.linux.cpus: 0
// is out of range [1, 256]". All problems are reported, not just the first.
func Load(name, text string) (*Policy, error) {
	var f File
	md, err := toml.Decode(text, &f)
	if err != nil {
		return nil, tomlpos.DecodeError(name, err)
	}
	lines := tomlpos.KeyLines(text)
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, lines[key], key, fmt.Sprintf(format, args...)))
	}
	for _, k := range md.Undecoded() {
		key := k.String()
		bad(key, "unknown key (see docs/policy.md for the schema)")
	}
	if !md.IsDefined("version") {
		errs = append(errs, fmt.Errorf("%s:1: version: missing (this build reads version %d)", name, SchemaVersion))
	} else if f.Version != SchemaVersion {
		bad("version", "version %d is not supported (this build reads version %d)", f.Version, SchemaVersion)
	}
	if c := f.Intent.MinConfidence; c != nil && (*c < 0 || *c > 1 || *c != *c) {
		bad("intent.min_confidence", "%v is out of range [0, 1]", *c)
	}
	if t := f.Intent.ConfirmTimeoutSeconds; t != nil && (*t < 1 || *t > MaxConfirmS) {
		bad("intent.confirm_timeout_s", "%d is out of range [1, %d]", *t, MaxConfirmS)
	}
	for _, e := range []struct {
		key string
		v   *float64
	}{{"energy.cpu", f.Energy.CPU}, {"energy.gpu", f.Energy.GPU}, {"energy.npu", f.Energy.NPU}} {
		if v := e.v; v != nil && !(*v >= 0 && *v <= MaxEnergy) { // false for NaN too
			bad(e.key, "%v is out of range [0, %d]", *v, MaxEnergy)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(f.Guests)) {
		g := f.Guests[id]
		prefix := "guests." + tomlpos.Key(id) + "."
		if id == "" || strings.ContainsAny(id, " \t:%\n") {
			bad("guests."+tomlpos.Key(id), "guest id %q must be non-empty without spaces, ':' or '%%'", id)
		}
		if md.IsDefined("guests", id, "cpus") {
			if err := g.CPUs.check(); err != nil {
				bad(prefix+"cpus", "%v", err)
			}
		}
		if md.IsDefined("guests", id, "max_vcpus") && (g.MaxVCPUs < 1 || g.MaxVCPUs > MaxCPUs) {
			bad(prefix+"max_vcpus", "%d is out of range [1, %d]", g.MaxVCPUs, MaxCPUs)
		}
		if md.IsDefined("guests", id, "memory_mib") && (g.MemoryMiB < MinMemoryMiB || g.MemoryMiB > MaxMemoryMiB) {
			bad(prefix+"memory_mib", "%d is out of range [%d, %d]", g.MemoryMiB, MinMemoryMiB, MaxMemoryMiB)
		}
		checkList(bad, prefix+"devices", g.Devices, DeviceNames)
		checkList(bad, prefix+"inputs", g.Inputs, InputNames)
		checkList(bad, prefix+"confirm", g.Confirm, confirmableNames())
		if g.Network && !slices.Contains(g.Devices, "net") {
			bad(prefix+"network", "network = true needs \"net\" in devices (the virtio-net device that carries it)")
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return compile(name, f), nil
}

func checkList(bad func(key, format string, args ...any), key string, got, allowed []string) {
	seen := map[string]bool{}
	for _, v := range got {
		if !slices.Contains(allowed, v) {
			bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		if seen[v] {
			bad(key, "%q is listed twice", v)
		}
		seen[v] = true
	}
}
