package fabric

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Sensor scopes, most specific first: a device takes the most specific
// sensor that covers it.
const (
	scopeCore = iota
	scopePackage
	scopeGPU
	scopeMachine
)

type sensor struct {
	path  string
	scope int
	pkg   int // scopePackage, and scopeCore's package (-1: any)
	core  int // scopeCore
}

// Thermal reads a machine's temperature sensors per device.
type Thermal struct {
	// byDevice maps each device (index in the fabric) to its sensor
	// path, "" for none.
	byDevice []string
}

// Reading is one device's temperature.
type Reading struct {
	// Device is the index in Fabric.Devices, Slot its slot.
	Device  int
	Slot    uint32
	Celsius float32
}

// Sensors finds the temperature sensors under sysRoot — thermal zones
// (class/thermal/thermal_zone*/temp, with type) and hwmon inputs
// (class/hwmon/hwmon*/temp*_input, with name and label) — and maps them
// to f's devices: coretemp's "Core N" to that core's threads, "Package id
// N" to that package's CPUs, a GPU driver's hwmon (name containing "gpu",
// or nouveau, radeon) to the GPUs, and any other sensor to every CPU not
// covered by a more specific one. It records each device's sensor in
// f.Devices[i].Sensor and sets f.Thermal to "sensors" when any device has
// one. A sensor that cannot be read now is skipped with a warning.
func Sensors(sysRoot string, f *Fabric) (*Thermal, []Warning) {
	var warns []Warning
	var found []sensor
	check := func(path string) bool {
		if _, err := readMilli(path); err != nil {
			warns = append(warns, Warning{Path: path, Msg: err.Error() + "; skipped"})
			return false
		}
		return true
	}
	zones, _ := filepath.Glob(filepath.Join(sysRoot, "class/thermal/thermal_zone*"))
	slices.Sort(zones)
	for _, z := range zones {
		path := filepath.Join(z, "temp")
		if !check(path) {
			continue
		}
		typ, _ := readSmall(filepath.Join(z, "type"))
		s := sensor{path: path, scope: scopeMachine, pkg: -1}
		if typ == "x86_pkg_temp" {
			// Which package a zone is for is not in /sys; one zone per
			// package is numbered in package order.
			s.scope, s.pkg = scopePackage, countType(zones[:slices.Index(zones, z)], "x86_pkg_temp")
		}
		found = append(found, s)
	}
	mons, _ := filepath.Glob(filepath.Join(sysRoot, "class/hwmon/hwmon*"))
	slices.Sort(mons)
	for _, m := range mons {
		name, _ := readSmall(filepath.Join(m, "name"))
		inputs, _ := filepath.Glob(filepath.Join(m, "temp*_input"))
		slices.Sort(inputs)
		pkg := -1
		var cores []sensor
		for _, in := range inputs {
			if !check(in) {
				continue
			}
			label, _ := readSmall(strings.TrimSuffix(in, "_input") + "_label")
			s := sensor{path: in, scope: scopeMachine, pkg: -1}
			switch {
			case strings.Contains(name, "gpu") || name == "nouveau" || name == "radeon":
				s.scope = scopeGPU
			case strings.HasPrefix(label, "Package id "):
				if n, err := strconv.Atoi(strings.TrimPrefix(label, "Package id ")); err == nil {
					s.scope, s.pkg, pkg = scopePackage, n, n
				}
			case strings.HasPrefix(label, "Core "):
				if n, err := strconv.Atoi(strings.TrimPrefix(label, "Core ")); err == nil {
					s.scope, s.core = scopeCore, n
					cores = append(cores, s)
					continue
				}
			}
			found = append(found, s)
		}
		// coretemp has one hwmon per package: its Core labels are of the
		// package its "Package id" names.
		for _, s := range cores {
			s.pkg = pkg
			found = append(found, s)
		}
	}
	t := &Thermal{byDevice: make([]string, len(f.Devices))}
	for i := range f.Devices {
		d := &f.Devices[i]
		best := -1
		for j, s := range found {
			if covers(s, d) && (best < 0 || s.scope < found[best].scope) {
				best = j
			}
		}
		d.Sensor = ""
		if best >= 0 {
			d.Sensor = found[best].path
			t.byDevice[i] = d.Sensor
			f.Thermal = "sensors"
		}
	}
	return t, warns
}

func covers(s sensor, d *Device) bool {
	switch s.scope {
	case scopeCore:
		return d.Kind == KindCPU && d.Core == s.core && (s.pkg < 0 || d.Package == s.pkg)
	case scopePackage:
		return d.Kind == KindCPU && d.Package == s.pkg
	case scopeGPU:
		return d.Kind == KindGPU
	}
	return d.Kind == KindCPU
}

func countType(zones []string, typ string) int {
	n := 0
	for _, z := range zones {
		if t, _ := readSmall(filepath.Join(z, "type")); t == typ {
			n++
		}
	}
	return n
}

// Read reads every mapped sensor once (a sensor shared by several devices
// is read once) and returns the devices' temperatures in device order; a
// sensor that fails is left out with a warning, its devices keep following
// the model until it reads again.
func (t *Thermal) Read(f *Fabric) ([]Reading, []Warning) {
	var out []Reading
	var warns []Warning
	cache := map[string]float64{}
	failed := map[string]bool{}
	for i, path := range t.byDevice {
		if path == "" || i >= len(f.Devices) || failed[path] {
			continue
		}
		c, ok := cache[path]
		if !ok {
			v, err := readMilli(path)
			if err != nil {
				failed[path] = true
				warns = append(warns, Warning{Path: path, Msg: err.Error() + "; skipped"})
				continue
			}
			c, cache[path] = v, v
		}
		out = append(out, Reading{Device: i, Slot: f.Devices[i].Slot, Celsius: float32(c)})
	}
	return out, warns
}

// Sensing reports whether any device has a sensor.
func (t *Thermal) Sensing() bool {
	for _, p := range t.byDevice {
		if p != "" {
			return true
		}
	}
	return false
}

// Temperatures a sensor may plausibly report; outside is a broken sensor.
const (
	MinCelsius = -50
	MaxCelsius = 200
)

// readMilli reads a millidegree Celsius file and returns °C.
func readMilli(path string) (float64, error) {
	s, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	c := float64(n) / 1000
	if err != nil || math.IsNaN(c) || c < MinCelsius || c > MaxCelsius {
		return 0, fmt.Errorf("%q is not a temperature in millidegrees Celsius within [%d, %d] °C", clip(s), MinCelsius, MaxCelsius)
	}
	return c, nil
}
