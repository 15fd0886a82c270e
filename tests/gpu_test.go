package tests

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/compose"
)

// The same journal on the CPU backend and on Vulkan (lavapipe here) gives
// the same world, markers and composed frame: the kernels are bit-identical
// to their Go twins on lavapipe.
func TestBackendsAgreeOnTheWholeWorld(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(demoJournal), 0o644); err != nil {
		t.Fatal(err)
	}
	out := map[string]result{}
	for _, backend := range []string{"cpu", "vulkan"} {
		r := rayos(t, dir, "boot", "--data", "d-"+backend, "--gpu", backend, "--hz", "1000", "--ticks", "130", "--seed", "3",
			"--journal", "in.jsonl", "--snapshot", backend+".json", "--frame", backend+".png")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", backend, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "RAYOS_BOOT:gpu:backend="+backend+" ") {
			t.Errorf("%s: the gpu marker does not name the backend:\n%s", backend, r.stdout)
		}
		out[backend] = r
	}
	if fromWorld(out["cpu"].stdout) != fromWorld(out["vulkan"].stdout) {
		t.Errorf("markers differ between backends:\n%s\n---\n%s", out["cpu"].stdout, out["vulkan"].stdout)
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if !bytes.Equal(read("cpu.json"), read("vulkan.json")) {
		t.Error("snapshots differ between backends")
	}
	if !bytes.Equal(read("cpu.png"), read("vulkan.png")) {
		t.Error("composed frames differ between backends")
	}
	img, err := png.Decode(bytes.NewReader(read("vulkan.png")))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1920 || b.Dy() != 1080 {
		t.Errorf("frame is %v", b)
	}
	// The RayOS shell bar, a system surface, is drawn at the top: its
	// face behind its title.
	background := gpu.DefaultMirrorConfig.Background
	pixel := func(x, y int) uint32 {
		r, g, b, a := img.At(x, y).RGBA()
		return gpu.RGBA(uint8(r>>8), uint8(g>>8), uint8(b>>8), uint8(a>>8))
	}
	if got, want := pixel(960, 20), compose.SystemFace; got != want {
		t.Errorf("top bar pixel is %08x, want the system face %08x", got, want)
	}
	// The presented linux desktop is framed in its trust label's colour
	// (orange in the default registry).
	if got, want := pixel(481, 360), compose.TrustColours[components.LabelOrange]; got != want {
		t.Errorf("linux desktop's left border is %08x, want orange %08x", got, want)
	}
	// The journal presents linux: its desktop is composed; windows stays
	// hidden, its place shows the background.
	if got := pixel(800, 360); got == background {
		t.Errorf("the presented linux desktop is not on screen: pixel %08x is the background", got)
	}
	if got := pixel(1500, 360); got != background {
		t.Errorf("the hidden windows desktop is on screen: pixel %08x, want the background %08x", got, background)
	}
}

// No usable Vulkan (here: no driver manifest for the loader to find) is
// never fatal for --gpu auto: a warning that says why, and the CPU backend.
// (--gpu vulkan is refused instead: tests/gpu_bench_cli_test.go.)
func TestNoVulkanFallsBackToTheCPUBackend(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(rayosBin, "boot", "--data", "data", "--gpu", "auto", "--ticks", "3", "--hz", "1000")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "VK_ICD_FILENAMES="+filepath.Join(dir, "no-such-driver.json"), "VK_DRIVER_FILES="+filepath.Join(dir, "no-such-driver.json"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("exit: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), `RAYOS_BOOT:gpu:backend=cpu type=cpu`) || !strings.Contains(out.String(), `why="vulkan unavailable"`) {
		t.Errorf("markers:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "Vulkan unavailable; using the CPU backend") {
		t.Errorf("no warning on stderr:\n%s", errOut.String())
	}
}
