package fabric_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/world/fabric"
)

const sampleFile = `version = 1

[devices.cpu0]
kind = "cpu"
cpu = 0
core = 0

[devices.cpu1]
kind = "cpu"
cpu = 1
core = 1
energy = 0.7

[devices.big-gpu]
kind = "gpu"
model = "Big GPU"
position = [1, 2, -3]
capacity = 16
`

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fab.toml")
	must(t, os.WriteFile(path, []byte(sampleFile), 0o644))
	f, err := fabric.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names(&f), ","); got != "cpu0,cpu1,big-gpu" {
		t.Fatalf("devices %s", got)
	}
	g := byName(t, &f, "big-gpu")
	if g.Position != [3]float32{1, 2, -3} || g.Capacity != 16 || g.Slot != 2 || g.Kind != fabric.KindGPU {
		t.Errorf("gpu %+v", g)
	}
	f.SetEnergy(fabric.Energy{fabric.KindGPU: 0.5, fabric.KindCPU: 2, fabric.KindNPU: 0.1})
	if byName(t, &f, "cpu0").EnergyCost != 2 || byName(t, &f, "cpu1").EnergyCost != 0.7 || g.EnergyCost != 0.5 {
		t.Errorf("the table overrides what the file left out, not what it set: %v %v %v",
			byName(t, &f, "cpu0").EnergyCost, byName(t, &f, "cpu1").EnergyCost, g.EnergyCost)
	}
	if f.Marker() != "source=file cpus=2 packages=1 numa=1 gpus=1 thermal=model" {
		t.Errorf("marker %q", f.Marker())
	}
}

// TestMarshalRoundTrip: a discovered fabric written and read back is the
// same device for device (what a replay builds from the journal).
func TestMarshalRoundTrip(t *testing.T) {
	for _, shape := range []string{"vm2", "numa2x4x2", "laptop-smt", "offline"} {
		f, _ := fabric.Discover(filepath.Join("testdata/sys", shape))
		f.AddGPUs([]fabric.GPU{{Name: `GPU "one"`, Kind: fabric.KindGPU}})
		text := f.Marshal()
		g, err := fabric.Load("journal", text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", shape, err, text)
		}
		if g.Marshal() != text || g.Marker() != f.Marker() || len(g.Devices) != len(f.Devices) {
			t.Errorf("%s: round trip differs:\n%s\n---\n%s", shape, text, g.Marshal())
			continue
		}
		for i := range f.Devices {
			a, b := f.Devices[i], g.Devices[i]
			if a.Name != b.Name || a.Position != b.Position || a.Slot != b.Slot || a.Capacity != b.Capacity || a.EnergyCost != b.EnergyCost || a.CPU != b.CPU || a.Core != b.Core {
				t.Errorf("%s: %+v became %+v", shape, a, b)
			}
		}
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"version = 1\n[devices.x\n", "to end table name"},
		{"[devices.cpu0]\nkind = \"cpu\"\ncpu = 0\n", "f.toml:1: version: missing"},
		{"version = 2\n[devices.a]\nkind = \"gpu\"\n", "f.toml:1: version: version 2 is not supported"},
		{"version = 1\n", "devices: no devices"},
		{"version = 1\n[devices.a]\nkind = \"fpga\"\n", "f.toml:3: devices.a.kind: \"fpga\" is not one of cpu, gpu, npu"},
		{"version = 1\n[devices.a]\nkind = \"cpu\"\n", "f.toml:2: devices.a: a cpu device needs cpu"},
		{"version = 1\n[devices.a]\nkind = \"cpu\"\ncpu = -1\n", "f.toml:4: devices.a.cpu: -1 is out of range [0, 8192)"},
		{"version = 1\n[devices.a]\nkind = \"cpu\"\ncpu = 0\n[devices.b]\nkind = \"cpu\"\ncpu = 0\n", "f.toml:7: devices.b.cpu: cpu 0 is also a's"},
		{"version = 1\n[devices.a]\nkind = \"gpu\"\ncapacity = 0\n", "f.toml:4: devices.a.capacity: 0 is out of range"},
		{"version = 1\n[devices.a]\nkind = \"gpu\"\nenergy = nan\n", "f.toml:4: devices.a.energy: NaN is out of range"},
		{"version = 1\n[devices.a]\nkind = \"gpu\"\nposition = [1, 2]\n", "f.toml:4: devices.a.position: want [x, y, z], got 2 numbers"},
		{"version = 1\n[devices.a]\nkind = \"gpu\"\nposition = [1, inf, 2]\n", "f.toml:4: devices.a.position: +Inf is not a finite number"},
		{"version = 1\n[devices.a]\nkind = \"gpu\"\ncapacty = 3\n", "f.toml:4: devices.a.capacty: unknown key"},
		{"version = 1\n[devices.a]\nkind = \"gpu\"\ncapacity = \"big\"\n", "f.toml:4: devices.a.capacity:"},
		{"version = 1\n[devices.\"a:b\"]\nkind = \"gpu\"\n", `f.toml:2: devices."a:b": name "a:b" must be`},
		{"version = 1\n[devices.\"a->b\"]\nkind = \"gpu\"\n", `name "a->b" must be`},
		{"version = 1\nthermal = \"guess\"\n[devices.a]\nkind = \"gpu\"\n", "f.toml:2: thermal: \"guess\" is not one of"},
	} {
		_, err := fabric.Load("f.toml", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := fabric.LoadFile(filepath.Join(t.TempDir(), "none.toml")); err == nil || !strings.Contains(err.Error(), "none.toml") {
		t.Errorf("missing file: %v", err)
	}
}
