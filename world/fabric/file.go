package fabric

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/rayos/engine/world/atomicfile"
	"github.com/rayos/engine/world/tomlpos"
)

// FileVersion is the fabric file schema this build reads.
const FileVersion = 1

// Limits of a fabric file.
const (
	MaxDevices  = 4096
	MaxCapacity = 1e6
	MaxEnergy   = 1000
	MaxPosition = 1e6
	maxTopology = 1 << 16
)

type fileDevice struct {
	Kind     string     `toml:"kind"`
	Model    string     `toml:"model"`
	Position *[]float64 `toml:"position"`
	CPU      *int       `toml:"cpu"`
	Package  *int       `toml:"package"`
	Core     *int       `toml:"core"`
	NUMA     *int       `toml:"numa"`
	Cache    *int       `toml:"cache"`
	Capacity *float64   `toml:"capacity"`
	Energy   *float64   `toml:"energy"`
}

type file struct {
	Version int                   `toml:"version"`
	Source  string                `toml:"source"`
	Thermal string                `toml:"thermal"`
	Devices map[string]fileDevice `toml:"devices"`
}

// LoadFile reads a fabric file (a regular file of at most
// atomicfile.MaxConfigSize bytes).
func LoadFile(path string) (Fabric, error) {
	data, err := atomicfile.ReadRegular(path, atomicfile.MaxConfigSize)
	if err != nil {
		return Fabric{}, fmt.Errorf("fabric: %w", err)
	}
	return Load(path, string(data))
}

var nameOK = regexp.MustCompile(`^[A-Za-z0-9_.]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$`)

// Load parses and validates a fabric file's text; name is used in errors,
// which name the line and the key ("fab.toml:7: devices.cpu0.cpu: -1 is
// out of range [0, 8192)"), all of them at once. Devices without a
// position are laid out like a discovered machine's.
func Load(name, text string) (Fabric, error) {
	var f file
	md, err := toml.Decode(text, &f)
	if err != nil {
		return Fabric{}, tomlpos.DecodeError(name, err)
	}
	lines := tomlpos.KeyLines(text)
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", name, lines[key], key, fmt.Sprintf(format, args...)))
	}
	for _, k := range md.Undecoded() {
		bad(k.String(), "unknown key (see docs/fabric.md for the format)")
	}
	if !md.IsDefined("version") {
		errs = append(errs, fmt.Errorf("%s:1: version: missing (this build reads version %d)", name, FileVersion))
	} else if f.Version != FileVersion {
		bad("version", "version %d is not supported (this build reads version %d)", f.Version, FileVersion)
	}
	out := Fabric{Source: "file", Thermal: "model"}
	switch f.Source {
	case "":
	case "sys", "file", "scene":
		out.Source = f.Source
	default:
		bad("source", "%q is not one of sys, file, scene", f.Source)
	}
	switch f.Thermal {
	case "":
	case "model", "sensors":
		out.Thermal = f.Thermal
	default:
		bad("thermal", "%q is not one of model, sensors", f.Thermal)
	}
	if len(f.Devices) == 0 {
		errs = append(errs, fmt.Errorf("%s:%d: devices: no devices (want at least one [devices.<name>] table)", name, max(lines["devices"], 1)))
	}
	if len(f.Devices) > MaxDevices {
		bad("devices", "%d devices, at most %d", len(f.Devices), MaxDevices)
	}
	cpus := map[int]string{}
	for _, n := range slices.Sorted(maps.Keys(f.Devices)) {
		fd := f.Devices[n]
		key := "devices." + tomlpos.Key(n)
		if !nameOK.MatchString(n) || strings.Contains(n, "->") || len(n) > 64 {
			bad(key, "name %q must be 1–64 letters, digits, '_', '.' or '-' (markers carry it)", n)
		}
		d := Device{Name: n, Model: fd.Model, CPU: -1, Package: -1, Core: -1, NUMA: -1, Cache: -1}
		switch fd.Kind {
		case "cpu":
			d.Kind = KindCPU
		case "gpu":
			d.Kind = KindGPU
		case "npu":
			d.Kind = KindNPU
		case "":
			bad(key, "kind missing (cpu, gpu or npu)")
		default:
			bad(key+".kind", "%q is not one of cpu, gpu, npu", fd.Kind)
		}
		topo := func(k string, v *int, limit int, dst *int) {
			if v == nil {
				return
			}
			if *v < 0 || *v >= limit {
				bad(key+"."+k, "%d is out of range [0, %d)", *v, limit)
				return
			}
			*dst = *v
		}
		topo("cpu", fd.CPU, MaxCPUs, &d.CPU)
		topo("package", fd.Package, maxTopology, &d.Package)
		topo("core", fd.Core, maxTopology, &d.Core)
		topo("numa", fd.NUMA, maxTopology, &d.NUMA)
		topo("cache", fd.Cache, MaxCPUs, &d.Cache)
		if d.Kind == KindCPU && fd.Kind == "cpu" {
			if fd.CPU == nil {
				bad(key, "a cpu device needs cpu = <host CPU number> (pinning names it)")
			} else if other, dup := cpus[*fd.CPU]; dup {
				bad(key+".cpu", "cpu %d is also %s's", *fd.CPU, other)
			} else {
				cpus[*fd.CPU] = n
			}
			if d.Package < 0 {
				d.Package = 0
			}
		} else if fd.CPU != nil && fd.Kind != "" {
			bad(key+".cpu", "only a cpu device has a CPU number")
			d.CPU = -1
		}
		if d.NUMA < 0 {
			d.NUMA = 0
		}
		d.Capacity = DefaultCapacity(d.Kind)
		if v := fd.Capacity; v != nil {
			if !(*v > 0 && *v <= MaxCapacity) {
				bad(key+".capacity", "%v is out of range (0, %g]", *v, float64(MaxCapacity))
			}
			d.Capacity = float32(*v)
		}
		d.EnergyCost = DefaultEnergy[min(int(d.Kind), 2)]
		if v := fd.Energy; v != nil {
			if !(*v >= 0 && *v <= MaxEnergy) {
				bad(key+".energy", "%v is out of range [0, %d]", *v, MaxEnergy)
			}
			d.EnergyCost, d.EnergySet = float32(*v), true
		}
		if p := fd.Position; p != nil {
			if len(*p) != 3 {
				bad(key+".position", "want [x, y, z], got %d numbers", len(*p))
			} else {
				for k, v := range *p {
					if !(math.Abs(v) <= MaxPosition) {
						bad(key+".position", "%v is not a finite number within ±%g", v, float64(MaxPosition))
					}
					d.Position[k] = float32(v)
				}
				d.Fixed = true
			}
		}
		out.Devices = append(out.Devices, d)
	}
	if len(errs) > 0 {
		return Fabric{}, errors.Join(errs...)
	}
	// A file's order is its table order by name; finish puts CPUs by
	// number first, the rest by kind-less name order.
	out.finish()
	return out, nil
}

// Marshal writes f as a fabric file that Load reads back to the same
// devices, positions, capacities and energies (float32 values round-trip
// exactly); the journal's header records a run's fabric this way.
func (f *Fabric) Marshal() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version = %d\nsource = %q\nthermal = %q\n", FileVersion, f.Source, cmp(f.Thermal, "model"))
	num := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }
	for _, d := range f.Devices {
		fmt.Fprintf(&b, "\n[devices.%s]\nkind = %q\n", tomlpos.Key(d.Name), d.Kind.String())
		if d.Model != "" {
			fmt.Fprintf(&b, "model = %q\n", d.Model)
		}
		for _, kv := range []struct {
			k string
			v int
		}{{"cpu", d.CPU}, {"package", d.Package}, {"core", d.Core}, {"numa", d.NUMA}, {"cache", d.Cache}} {
			if kv.v >= 0 && !(d.Kind != KindCPU && kv.k == "cpu") {
				fmt.Fprintf(&b, "%s = %d\n", kv.k, kv.v)
			}
		}
		p := d.Position
		fmt.Fprintf(&b, "position = [%s, %s, %s]\ncapacity = %s\nenergy = %s\n", num(p[0]), num(p[1]), num(p[2]), num(d.Capacity), num(d.EnergyCost))
	}
	return b.String()
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
