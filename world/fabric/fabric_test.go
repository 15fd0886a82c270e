package fabric_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/world/fabric"
)

func discover(t *testing.T, shape string) (fabric.Fabric, []fabric.Warning) {
	t.Helper()
	f, warns := fabric.Discover(filepath.Join("testdata/sys", shape))
	for _, w := range warns {
		t.Logf("warning: %s", w)
	}
	return f, warns
}

func byName(t *testing.T, f *fabric.Fabric, name string) *fabric.Device {
	t.Helper()
	for i := range f.Devices {
		if f.Devices[i].Name == name {
			return &f.Devices[i]
		}
	}
	t.Fatalf("no device %s in %v", name, names(f))
	return nil
}

func names(f *fabric.Fabric) []string {
	var out []string
	for _, d := range f.Devices {
		out = append(out, d.Name)
	}
	return out
}

func dist(t *testing.T, f *fabric.Fabric, a, b string) float64 {
	return fabric.Distance(byName(t, f, a), byName(t, f, b))
}

func TestVM2(t *testing.T) {
	f, warns := discover(t, "vm2")
	if len(warns) != 0 {
		t.Errorf("warnings on a clean tree: %v", warns)
	}
	if got := strings.Join(names(&f), ","); got != "cpu0,cpu1" {
		t.Fatalf("devices %s", got)
	}
	if m := f.Marker(); m != "source=sys cpus=2 packages=1 numa=1 gpus=0 thermal=model" {
		t.Errorf("marker %q", m)
	}
	for i, d := range f.Devices {
		if d.CPU != i || d.Slot != uint32(i) || d.Package != 0 || d.Core != i || d.NUMA != 0 || d.Capacity != 1 || d.EnergyCost != fabric.DefaultEnergy[fabric.KindCPU] {
			t.Errorf("device %d: %+v", i, d)
		}
		if d.Cache != 0 {
			t.Errorf("%s: cores share L3 0-1, cache group %d", d.Name, d.Cache)
		}
	}
	if d := dist(t, &f, "cpu0", "cpu1"); d <= 0 || d > 1 {
		t.Errorf("two cores sharing a cache %.2f apart", d)
	}
}

func TestNUMA2Sockets(t *testing.T) {
	f, warns := discover(t, "numa2x4x2")
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if m := f.Marker(); m != "source=sys cpus=16 packages=2 numa=2 gpus=0 thermal=model" {
		t.Errorf("marker %q", m)
	}
	c4 := byName(t, &f, "cpu4")
	if c4.Package != 1 || c4.NUMA != 1 || c4.Core != 0 {
		t.Errorf("cpu4 %+v", c4)
	}
	sibling := dist(t, &f, "cpu0", "cpu8")     // same core
	samePkg := dist(t, &f, "cpu0", "cpu1")     // same package, other core
	crossNode := dist(t, &f, "cpu0", "cpu4")   // other package and node
	crossNode2 := dist(t, &f, "cpu8", "cpu13") // other node, other thread
	if !(sibling < samePkg && samePkg < crossNode && samePkg < crossNode2) {
		t.Errorf("sibling %.2f, same package %.2f, cross node %.2f / %.2f", sibling, samePkg, crossNode, crossNode2)
	}
	// The ordering holds for every pair, not just the picked ones.
	checkOrdering(t, &f)

	f.AddGPUs([]fabric.GPU{{Name: "Test GPU", Kind: fabric.KindGPU}})
	g := byName(t, &f, "gpu0")
	if g.Slot != 16 || g.Capacity != fabric.GPUCapacity || g.NUMA != 0 || g.Model != "Test GPU" {
		t.Errorf("gpu0 %+v", g)
	}
	if near, far := dist(t, &f, "gpu0", "cpu0"), dist(t, &f, "gpu0", "cpu4"); near >= far {
		t.Errorf("gpu0 on node 0 is %.2f from node 0's cpu0, %.2f from node 1's cpu4", near, far)
	}
	checkOrdering(t, &f)
}

// checkOrdering: for all CPU pairs, sharing more means nearer.
func checkOrdering(t *testing.T, f *fabric.Fabric) {
	t.Helper()
	rank := func(a, b *fabric.Device) int {
		switch {
		case a.NUMA != b.NUMA:
			return 4
		case a.Package != b.Package:
			return 3
		case a.Cache != b.Cache || a.Cache < 0:
			return 2
		case a.Core != b.Core:
			return 1
		}
		return 0
	}
	maxAt := map[int]float64{}
	minAt := map[int]float64{}
	for i := range f.Devices {
		for j := i + 1; j < len(f.Devices); j++ {
			a, b := &f.Devices[i], &f.Devices[j]
			if a.Kind != fabric.KindCPU || b.Kind != fabric.KindCPU {
				continue
			}
			r, d := rank(a, b), fabric.Distance(a, b)
			maxAt[r] = max(maxAt[r], d)
			if m, ok := minAt[r]; !ok || d < m {
				minAt[r] = d
			}
		}
	}
	for r := 0; r < 4; r++ {
		for s := r + 1; s <= 4; s++ {
			if _, ok := minAt[s]; ok && maxAt[r] >= minAt[s] {
				t.Errorf("pairs sharing more (rank %d, up to %.2f apart) are not all nearer than rank %d (from %.2f)", r, maxAt[r], s, minAt[s])
			}
		}
	}
}

func TestLaptopSMTWithCoretemp(t *testing.T) {
	f, warns := discover(t, "laptop-smt")
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if c := byName(t, &f, "cpu1"); c.Cache != 0 || byName(t, &f, "cpu2").Cache != 2 {
		t.Errorf("L2 pairs: cpu1 cache %d, cpu2 cache %d", c.Cache, byName(t, &f, "cpu2").Cache)
	}
	if s, c, p := dist(t, &f, "cpu0", "cpu4"), dist(t, &f, "cpu0", "cpu1"), dist(t, &f, "cpu0", "cpu2"); !(s < c && c < p) {
		t.Errorf("sibling %.2f, shared L2 %.2f, same package %.2f", s, c, p)
	}
	checkOrdering(t, &f)

	th, warns := fabric.Sensors("testdata/sys/laptop-smt", &f)
	if len(warns) != 1 || !strings.Contains(warns[0].Path, "thermal_zone0/temp") || !strings.Contains(warns[0].Msg, "skipped") {
		t.Errorf("the garbage thermal zone should be skipped with one warning naming it: %v", warns)
	}
	if f.Thermal != "sensors" || !strings.HasSuffix(f.Marker(), "thermal=sensors") {
		t.Errorf("thermal %q", f.Thermal)
	}
	rs, warns := th.Read(&f)
	if len(warns) != 0 || len(rs) != 8 {
		t.Fatalf("readings %v warnings %v", rs, warns)
	}
	want := map[string]float32{"cpu0": 55, "cpu4": 55, "cpu1": 56, "cpu3": 72, "cpu7": 72}
	for _, r := range rs {
		d := f.Devices[r.Device]
		if w, ok := want[d.Name]; ok && r.Celsius != w {
			t.Errorf("%s reads %v °C, want %v (its core's coretemp)", d.Name, r.Celsius, w)
		}
		if r.Slot != d.Slot {
			t.Errorf("reading slot %d for %s (slot %d)", r.Slot, d.Name, d.Slot)
		}
	}
}

func TestPackageZonesOnNUMA(t *testing.T) {
	f, _ := discover(t, "numa2x4x2")
	th, warns := fabric.Sensors("testdata/sys/numa2x4x2", &f)
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	rs, _ := th.Read(&f)
	for _, r := range rs {
		d := f.Devices[r.Device]
		want := float32(51)
		if d.Package == 1 {
			want = 63.5
		}
		if r.Celsius != want {
			t.Errorf("%s (package %d) reads %v, want %v", d.Name, d.Package, r.Celsius, want)
		}
	}
	if len(rs) != 16 {
		t.Errorf("%d readings", len(rs))
	}
}

func TestOfflineCPUAndNoNUMA(t *testing.T) {
	f, warns := discover(t, "offline")
	if got := strings.Join(names(&f), ","); got != "cpu0,cpu1,cpu3" {
		t.Fatalf("devices %s (cpu2 is offline)", got)
	}
	text := ""
	for _, w := range warns {
		text += w.String() + "\n"
	}
	for _, want := range []string{
		"devices/system/node: no NUMA node information; every CPU on node 0",
		`cpu3/topology/core_id: "x y" is not a number`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, text)
		}
	}
	c3 := byName(t, &f, "cpu3")
	if c3.Core != -1 || c3.NUMA != 0 || c3.Package != 0 || c3.Slot != 3 {
		t.Errorf("cpu3 degraded to %+v", c3)
	}
	if f.Marker() != "source=sys cpus=3 packages=1 numa=1 gpus=0 thermal=model" {
		t.Errorf("marker %q", f.Marker())
	}
	th, warns := fabric.Sensors("testdata/sys/offline", &f)
	if th.Sensing() || len(warns) != 0 || f.Thermal != "model" {
		t.Errorf("no sensors: sensing %v, warnings %v, thermal %q", th.Sensing(), warns, f.Thermal)
	}
}

// TestHostileSys: a tree with nothing, garbage and a FIFO still gives a
// working fabric with warnings naming the paths.
func TestHostileSys(t *testing.T) {
	root := t.TempDir()
	f, warns := fabric.Discover(root)
	if len(f.Devices) != 1 || f.Devices[0].Name != "cpu0" || len(warns) == 0 {
		t.Errorf("empty tree: %v, %v", names(&f), warns)
	}
	cpu := filepath.Join(root, "devices/system/cpu")
	must(t, os.MkdirAll(filepath.Join(cpu, "cpu0/topology"), 0o755))
	must(t, os.WriteFile(filepath.Join(cpu, "online"), []byte("0-99999999\n"), 0o644))
	f, warns = fabric.Discover(root)
	if len(f.Devices) != 1 || !strings.Contains(warns[0].String(), "online: \"0-99999999\" is not a CPU list") {
		t.Errorf("garbage online list: %v, %v", names(&f), warns)
	}
	must(t, os.Remove(filepath.Join(cpu, "online")))
	must(t, mkfifo(filepath.Join(cpu, "online")))
	f, warns = fabric.Discover(root) // must not block on the FIFO
	if len(f.Devices) != 1 || !strings.Contains(warns[0].Msg, "not a regular file") {
		t.Errorf("FIFO online: %v, %v", names(&f), warns)
	}
	tz := filepath.Join(root, "class/thermal/thermal_zone0")
	must(t, os.MkdirAll(tz, 0o755))
	must(t, os.WriteFile(filepath.Join(tz, "temp"), []byte("99999999\n"), 0o644))
	if th, warns := fabric.Sensors(root, &f); th.Sensing() || len(warns) != 1 || !strings.Contains(warns[0].String(), "thermal_zone0/temp") {
		t.Errorf("implausible zone: sensing %v, %v", th.Sensing(), warns)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestThisMachine: the real /sys gives one device per online CPU.
func TestThisMachine(t *testing.T) {
	raw, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatalf("this machine's /sys: %v (RayOS runs on Linux, which has it)", err)
	}
	online, err := fabric.ParseList(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	f, warns := fabric.Discover("/sys")
	for _, w := range warns {
		t.Logf("warning: %s", w)
	}
	if len(f.Devices) != len(online) {
		t.Fatalf("%d devices for %d online CPUs", len(f.Devices), len(online))
	}
	for i, d := range f.Devices {
		if d.CPU != online[i] || d.Kind != fabric.KindCPU || d.Capacity != 1 {
			t.Errorf("device %d: %+v", i, d)
		}
	}
	th, _ := fabric.Sensors("/sys", &f)
	rs, _ := th.Read(&f)
	for _, r := range rs {
		if r.Celsius < fabric.MinCelsius || r.Celsius > fabric.MaxCelsius {
			t.Errorf("reading %+v", r)
		}
	}
	t.Logf("this machine: %s; %d readings", f.Marker(), len(rs))
}
