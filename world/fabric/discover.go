package fabric

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxCPUs bounds the CPU numbers discovery accepts: a list naming more is
// garbage, not a machine.
const MaxCPUs = 8192

// maxSysFile bounds what is read of one /sys file.
const maxSysFile = 64 << 10

// Discover describes the machine whose /sys is mounted at sysRoot
// ("/sys"): its online CPUs with their package, core, SMT siblings, shared
// caches and NUMA node. What is missing or odd becomes a Warning naming
// the path and the fabric degrades instead of failing: an unreadable
// topology puts the CPU in package 0 as a core of its own, a missing node
// directory puts every CPU on node 0. GPUs come from the backend
// (AddGPUs). Thermal sensors are found separately (Sensors).
func Discover(sysRoot string) (Fabric, []Warning) {
	var warns []Warning
	warn := func(path, format string, args ...any) {
		warns = append(warns, Warning{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	cpuDir := filepath.Join(sysRoot, "devices/system/cpu")
	online, err := readList(filepath.Join(cpuDir, "online"))
	if err != nil {
		warn(filepath.Join(cpuDir, "online"), "%v; using the cpuN directories present", err)
		online = nil
		ents, _ := os.ReadDir(cpuDir)
		for _, e := range ents {
			if n, ok := cpuNumber(e.Name()); ok {
				online = append(online, n)
			}
		}
		slices.Sort(online)
	}
	if len(online) == 0 {
		warn(cpuDir, "no online CPU found; assuming one CPU (cpu0)")
		online = []int{0}
	}
	numaOf := nodes(sysRoot, online, warn)
	f := Fabric{Source: "sys", Thermal: "model"}
	for _, c := range online {
		dir := filepath.Join(cpuDir, fmt.Sprintf("cpu%d", c))
		d := Device{Name: fmt.Sprintf("cpu%d", c), Kind: KindCPU, CPU: c, Package: 0, Core: -1, NUMA: numaOf[c], Cache: -1,
			Capacity: CPUCapacity, EnergyCost: DefaultEnergy[KindCPU]}
		if _, err := os.Stat(dir); err != nil {
			warn(dir, "online CPU has no directory; package 0, a core of its own")
			f.Devices = append(f.Devices, d)
			continue
		}
		if p, err := readInt(filepath.Join(dir, "topology/physical_package_id")); err != nil {
			warn(filepath.Join(dir, "topology/physical_package_id"), "%v; assuming package 0", err)
		} else {
			d.Package = p
		}
		if p, err := readInt(filepath.Join(dir, "topology/core_id")); err != nil {
			warn(filepath.Join(dir, "topology/core_id"), "%v; a core of its own", err)
		} else {
			d.Core = p
		}
		d.Cache = sharedCache(dir, c, warn)
		f.Devices = append(f.Devices, d)
	}
	checkSiblings(cpuDir, f.Devices, warn)
	f.finish()
	return f, warns
}

// cpuNumber parses "cpu12".
func cpuNumber(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "cpu")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n < MaxCPUs
}

// nodes maps every online CPU to its NUMA node from node*/cpulist; CPUs
// no node lists (or all of them, without a node directory) are on node 0.
func nodes(sysRoot string, online []int, warn func(path, format string, args ...any)) map[int]int {
	numa := map[int]int{}
	dir := filepath.Join(sysRoot, "devices/system/node")
	ents, err := os.ReadDir(dir)
	found := false
	if err == nil {
		for _, e := range ents {
			s, ok := strings.CutPrefix(e.Name(), "node")
			n, err := strconv.Atoi(s)
			if !ok || err != nil || n < 0 || n >= MaxCPUs {
				continue
			}
			path := filepath.Join(dir, e.Name(), "cpulist")
			cpus, err := readList(path)
			if err != nil {
				warn(path, "%v; its CPUs go to node 0", err)
				continue
			}
			found = true
			for _, c := range cpus {
				if _, dup := numa[c]; !dup {
					numa[c] = n
				}
			}
		}
	}
	if !found {
		warn(dir, "no NUMA node information; every CPU on node 0")
	}
	for _, c := range online {
		if _, ok := numa[c]; !ok {
			if found {
				warn(dir, "cpu%d is on no node's cpulist; assuming node 0", c)
			}
			numa[c] = 0
		}
	}
	return numa
}

// sharedCache returns the first CPU of the smallest cache (level ≥ 2) that
// cpu shares with a CPU of another core, -1 when none; unreadable cache
// entries are warned about and skipped.
func sharedCache(dir string, cpu int, warn func(path, format string, args ...any)) int {
	siblings, err := readList(filepath.Join(dir, "topology/thread_siblings_list"))
	if err != nil {
		siblings = []int{cpu}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "cache/index*"))
	best, bestLevel := []int(nil), 0
	for _, p := range paths {
		level, err := readInt(filepath.Join(p, "level"))
		if err != nil {
			warn(filepath.Join(p, "level"), "%v; cache skipped", err)
			continue
		}
		shared, err := readList(filepath.Join(p, "shared_cpu_list"))
		if err != nil {
			warn(filepath.Join(p, "shared_cpu_list"), "%v; cache skipped", err)
			continue
		}
		if level < 2 || len(shared) <= len(siblings) || !slices.Contains(shared, cpu) {
			continue
		}
		if best == nil || level < bestLevel || level == bestLevel && len(shared) < len(best) {
			best, bestLevel = shared, level
		}
	}
	if best == nil {
		return -1
	}
	return best[0]
}

// checkSiblings compares each CPU's thread_siblings_list with what package
// and core say, warning where they disagree (the layout follows package
// and core).
func checkSiblings(cpuDir string, devs []Device, warn func(path, format string, args ...any)) {
	for _, d := range devs {
		path := filepath.Join(cpuDir, fmt.Sprintf("cpu%d", d.CPU), "topology/thread_siblings_list")
		sib, err := readList(path)
		if err != nil {
			if err.Error() != "missing" || d.Core >= 0 {
				warn(path, "%v; siblings follow package and core", err)
			}
			continue
		}
		for _, o := range devs {
			same := o.Package == d.Package && o.Core == d.Core && d.Core >= 0
			if same != slices.Contains(sib, o.CPU) {
				warn(path, "lists cpu%d as sibling=%v but package/core say %v; following package and core", o.CPU, !same, same)
				break
			}
		}
	}
}

// readInt reads a file holding one non-negative integer.
func readInt(path string) (int, error) {
	s, err := readSmall(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= 1<<20 {
		return 0, fmt.Errorf("%q is not a number in [0, %d)", clip(s), 1<<20)
	}
	return n, nil
}

// readList reads a kernel CPU list ("0-3,8,10-11").
func readList(path string) ([]int, error) {
	s, err := readSmall(path)
	if err != nil {
		return nil, err
	}
	return ParseList(s)
}

// ParseList parses a kernel CPU list ("0-3,8,10-11"), sorted and without
// duplicates; numbers must be below MaxCPUs.
func ParseList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b >= MaxCPUs {
			return nil, fmt.Errorf("%q is not a CPU list (want e.g. 0-3,8 with CPUs below %d)", clip(s), MaxCPUs)
		}
		for c := a; c <= b; c++ {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// readSmall reads a small /sys file, trimmed; a file that is not regular
// (a FIFO in a hostile tree) is refused rather than read.
func readSmall(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", describe(err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file")
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", describe(err)
	}
	defer fh.Close()
	buf := make([]byte, maxSysFile)
	n, err := fh.Read(buf)
	if err != nil && n == 0 && !errors.Is(err, io.EOF) {
		return "", describe(err)
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

// describe words a file error without repeating the path (warnings carry
// it).
func describe(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("missing")
	case errors.Is(err, fs.ErrPermission):
		return errors.New("unreadable (permission denied)")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("unreadable (%v)", pe.Err)
	}
	return err
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
