package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const fabricFile = `version = 1

[devices.cpu0]
kind = "cpu"
cpu = 0
core = 0

[devices.cpu1]
kind = "cpu"
cpu = 1
core = 1

[devices.gpu0]
kind = "gpu"
capacity = 16
`

// A --fabric file's machine is the world's, its text rides in the
// journal, and the replay builds the same devices (same marker, same
// world) on whatever machine it runs.
func TestFabricFileBootAndReplay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fab.toml")
	if err := os.WriteFile(path, []byte(fabricFile), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "boot", "--data", "data", "--fabric", path, "--ticks", "3", "--gpu", "cpu", "--hz", "1000", "--record", "run.jsonl")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	want := "RAYOS_BOOT:world:scene=demo seed=1 hz=1000 surfaces=4 guests=2 devices=3 tasks=0\nRAYOS_BOOT:fabric:source=file cpus=2 packages=1 numa=1 gpus=1 thermal=model\n"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("no %q in:\n%s", want, r.stdout)
	}
	journal, err := os.ReadFile(filepath.Join(dir, "run.jsonl"))
	if err != nil || !strings.Contains(strings.SplitN(string(journal), "\n", 2)[0], `"fabric":"version = 1\nsource = \"file\"`) {
		t.Fatalf("the header lacks the fabric (%v)", err)
	}
	rp := rayos(t, dir, "replay", "run.jsonl")
	if rp.code != 0 || !strings.Contains(rp.stdout, want) {
		t.Errorf("replay: exit %d, no %q in:\n%s\n%s", rp.code, want, rp.stdout, rp.stderr)
	}
}

// The default is this machine; --fabric scene keeps the demo's four
// synthetic devices; bench scenes keep theirs whatever --fabric says.
func TestFabricAutoAndScene(t *testing.T) {
	dir := t.TempDir()
	r := rayos(t, dir, "boot", "--data", "data", "--ticks", "1", "--gpu", "cpu", "--hz", "1000")
	m := regexp.MustCompile(`(?m)^RAYOS_BOOT:world:.* devices=(\d+) tasks=0\nRAYOS_BOOT:fabric:source=sys cpus=(\d+) `).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || m[1] != m[2] {
		t.Fatalf("auto: one device per online CPU (%v): exit %d\n%s\n%s", m, r.code, r.stdout, r.stderr)
	}
	r = rayos(t, dir, "boot", "--data", "data", "--fabric", "scene", "--ticks", "1", "--gpu", "cpu", "--hz", "1000")
	if !strings.Contains(r.stdout, "devices=4 tasks=32\nRAYOS_BOOT:fabric:source=scene cpus=1 packages=0 numa=0 gpus=2 thermal=model\n") {
		t.Errorf("scene: exit %d\n%s", r.code, r.stdout)
	}
	r = rayos(t, dir, "boot", "--data", "data", "--scene", "desktop", "--ticks", "1", "--gpu", "cpu", "--hz", "1000")
	if r.code != 0 || !strings.Contains(r.stdout, "devices=16 tasks=2000\nRAYOS_BOOT:fabric:source=scene ") {
		t.Errorf("desktop: exit %d\n%s", r.code, r.stdout)
	}
}

// A malformed fabric file or a bad --thermal-sample refuses the boot before
// anything is created, naming the file, line and key.
func TestFabricBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(path, []byte("version = 1\n[devices.cpu0]\nkind = \"cpu\"\ncpu = -3\nspeed = 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rayos(t, dir, "boot", "--data", "data", "--fabric", path, "--ticks", "1", "--gpu", "cpu")
	if r.code == 0 || !strings.Contains(r.stderr, "bad.toml:4: devices.cpu0.cpu: -3 is out of range") || !strings.Contains(r.stderr, "bad.toml:5: devices.cpu0.speed: unknown key") {
		t.Errorf("bad file: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a refused boot created RAYOS_DATA")
	}
	r = rayos(t, dir, "boot", "--data", "data", "--fabric", filepath.Join(dir, "none.toml"), "--ticks", "1", "--gpu", "cpu")
	if r.code == 0 || !strings.Contains(r.stderr, "want auto, scene or a fabric file") {
		t.Errorf("missing file: exit %d\n%s", r.code, r.stderr)
	}
	r = rayos(t, dir, "boot", "--data", "data", "--thermal-sample", "-1s", "--ticks", "1", "--gpu", "cpu")
	if r.code == 0 || !strings.Contains(r.stderr, "--thermal-sample") {
		t.Errorf("negative sample interval: exit %d\n%s", r.code, r.stderr)
	}
}
