//go:build linux

package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// noVulkan hides every Vulkan driver from the loader, the way a machine
// without a GPU driver looks: both variables, because the loader honours
// VK_DRIVER_FILES and older loaders only VK_ICD_FILENAMES.
func noVulkan(dir string) []string {
	missing := filepath.Join(dir, "no-such-driver.json")
	return []string{"VK_ICD_FILENAMES=" + missing, "VK_DRIVER_FILES=" + missing}
}

// --gpu vulkan names a device; without one, bench and boot stop with a
// message that says why, instead of measuring or running the CPU backend
// under the Vulkan name. --gpu auto still falls back, with a warning.
func TestGpuBenchVulkanWithoutADeviceFails(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"bench", "--gpu", "vulkan", "--ticks", "3", "--warmup", "0"},
		{"bench", "--gpu", "vulkan", "--ticks", "3", "--warmup", "0", "--json"},
		{"boot", "--gpu", "vulkan", "--data", "data", "--ticks", "3", "--hz", "1000"},
	} {
		r := rayosEnv(t, dir, noVulkan(dir), args...)
		if r.code != 1 {
			t.Errorf("%s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "--gpu vulkan: no usable Vulkan device: vulkan:") || !strings.Contains(r.stderr, "--gpu auto falls back") {
			t.Errorf("%s: stderr does not say why, or what to do:\n%s", strings.Join(args, " "), r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Errorf("%s: RAYOS_DATA was written before the device was refused (a failed boot would count)", strings.Join(args, " "))
		}
		for _, forbidden := range []string{"backend=cpu", "RAYOS_BOOT:ready", "RayOS headless world", "{"} {
			if strings.Contains(r.stdout, forbidden) {
				t.Errorf("%s: ran anyway (%q on stdout):\n%s", strings.Join(args, " "), forbidden, r.stdout)
			}
		}
	}
}

func TestGpuBenchAutoWithoutVulkanFallsBackToTheCPU(t *testing.T) {
	dir := t.TempDir()
	r := rayosEnv(t, dir, noVulkan(dir), "boot", "--gpu", "auto", "--data", "data", "--ticks", "3", "--hz", "1000")
	if r.code != 0 {
		t.Fatalf("boot --gpu auto: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `RAYOS_BOOT:gpu:backend=cpu type=cpu`) || !strings.Contains(r.stdout, `why="vulkan unavailable"`) {
		t.Errorf("boot --gpu auto markers:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "Vulkan unavailable; using the CPU backend") {
		t.Errorf("boot --gpu auto: no warning on stderr:\n%s", r.stderr)
	}
	r = rayosEnv(t, dir, noVulkan(dir), "bench", "--gpu", "auto", "--ticks", "3", "--warmup", "0", "--json")
	if r.code != 0 {
		t.Fatalf("bench --gpu auto: exit %d\n%s", r.code, r.stderr)
	}
	if rep := decodeBench(t, r.stdout); rep["backend"] != "cpu" {
		t.Errorf("bench --gpu auto ran on %v", rep["backend"])
	}
	if !strings.Contains(r.stderr, "Vulkan unavailable; using the CPU backend") {
		t.Errorf("bench --gpu auto: no warning on stderr:\n%s", r.stderr)
	}
}

// decodeBench parses stdout as exactly one JSON object.
func decodeBench(t *testing.T, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var rep map[string]any
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("more than one JSON value on stdout:\n%s", stdout)
	}
	return rep
}

// The documented fields of --json, with their JSON types, on both
// backends; traffic is counted on both (the first ticks of a world upload
// it and read placements back).
func TestGpuBenchJSONHasTheDocumentedFields(t *testing.T) {
	dir := t.TempDir()
	for _, backend := range []string{"cpu", "vulkan"} {
		r := rayos(t, dir, "bench", "--gpu", backend, "--scene", "desktop", "--ticks", "5", "--warmup", "0", "--seed", "7", "--json")
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", backend, r.code, r.stderr)
		}
		rep := decodeBench(t, r.stdout)
		want := map[string]any{"format": "rayos-bench/1", "scene": "desktop", "seed": 7.0, "ticks": 5.0, "warmup": 0.0, "backend": backend}
		for k, v := range want {
			if rep[k] != v {
				t.Errorf("%s: %s = %v, want %v", backend, k, rep[k], v)
			}
		}
		for _, k := range []string{"device", "device_type", "memory"} {
			if s, ok := rep[k].(string); !ok || s == "" {
				t.Errorf("%s: %s = %#v, want a non-empty string", backend, k, rep[k])
			}
		}
		number := func(obj any, path string) float64 {
			t.Helper()
			cur := obj
			for key := range strings.SplitSeq(path, ".") {
				m, ok := cur.(map[string]any)
				if !ok {
					t.Fatalf("%s: %s: not an object at %q in %v", backend, path, key, cur)
				}
				cur = m[key]
			}
			f, ok := cur.(float64)
			if !ok {
				t.Fatalf("%s: %s = %#v, want a number", backend, path, cur)
			}
			return f
		}
		p50, p99, mx := number(rep, "tick_ns.p50"), number(rep, "tick_ns.p99"), number(rep, "tick_ns.max")
		if p50 <= 0 || p99 < p50 || mx < p99 {
			t.Errorf("%s: tick_ns p50 %v p99 %v max %v", backend, p50, p99, mx)
		}
		if number(rep, "bytes_per_tick.uploaded_max") <= 0 || number(rep, "bytes_per_tick.read_back_max") <= 0 {
			t.Errorf("%s: no traffic counted: %v", backend, rep["bytes_per_tick"])
		}
		for _, k := range []string{"uploaded", "columns", "read_back"} {
			if number(rep, "bytes_per_tick."+k) < 0 {
				t.Errorf("%s: bytes_per_tick.%s negative", backend, k)
			}
		}
		if number(rep, "attention_decay.rays") <= 0 || number(rep, "attention_decay.system_ns_per_ray") <= 0 ||
			number(rep, "attention_decay.slice_ns_per_ray") <= 0 || number(rep, "attention_decay.ratio") <= 0 {
			t.Errorf("%s: attention_decay %v", backend, rep["attention_decay"])
		}
		systems, ok := rep["systems"].([]any)
		if !ok || len(systems) == 0 {
			t.Fatalf("%s: systems = %#v", backend, rep["systems"])
		}
		names := map[string]bool{}
		for _, s := range systems {
			m, _ := s.(map[string]any)
			name, _ := m["name"].(string)
			names[name] = true
			if number(s, "mean_ns") < 0 || number(s, "max_ns") < number(s, "mean_ns") {
				t.Errorf("%s: system %v", backend, s)
			}
		}
		for _, name := range []string{"input", "attention", "schedule", "gpu-submit"} {
			if !names[name] {
				t.Errorf("%s: no system %q in %v", backend, name, rep["systems"])
			}
		}
		if strings.Contains(r.stderr, "ticking") {
			t.Errorf("%s: a progress bar with --json:\n%s", backend, r.stderr)
		}
	}
}

// The text report puts the bytes read back next to the bytes uploaded.
func TestGpuBenchTextReportsReadBack(t *testing.T) {
	r := rayos(t, t.TempDir(), "bench", "--gpu", "vulkan", "--ticks", "3", "--warmup", "0")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "backend=vulkan") || !strings.Contains(r.stdout, "bytes uploaded per tick") || !strings.Contains(r.stdout, "bytes read back per tick") {
		t.Errorf("report:\n%s", r.stdout)
	}
}

func TestGpuBenchBadFlagsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--ticks", "0"}, "--ticks"},
		{[]string{"--ticks", "-5"}, "--ticks"},
		{[]string{"--ticks", "100000000"}, "--ticks"},
		{[]string{"--ticks", "many"}, "--ticks"},
		{[]string{"--warmup", "-1"}, "--warmup"},
		{[]string{"--seed", "-1"}, "--seed"},
		{[]string{"--scene", "nowhere"}, "--scene"},
		{[]string{"--gpu", "cuda"}, "--gpu"},
		{[]string{"--json=perhaps"}, "--json"},
		{[]string{"--cpuprofile", ""}, "--cpuprofile"},
		{[]string{"--cpuprofile", "no-such-folder/cpu.out"}, "--cpuprofile"},
		{[]string{"--cpuprofile", "folder"}, "--cpuprofile"},
		{[]string{"--frobnicate"}, "--frobnicate"},
		// Bad usage is reported as such before a missing device is.
		{[]string{"--gpu", "vulkan", "--ticks", "0"}, "--ticks"},
	} {
		args := append([]string{"bench"}, c.args...)
		r := rayosEnv(t, dir, noVulkan(dir), args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.flag) {
			t.Errorf("%s: exit %d, want 2 naming %s:\n%s", strings.Join(args, " "), r.code, c.flag, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("%s: stdout %q", strings.Join(args, " "), r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "no-such-folder")); err == nil {
		t.Error("--cpuprofile created a folder")
	}
}

// --cpuprofile writes a pprof profile (gzip-compressed protobuf).
func TestGpuBenchCPUProfile(t *testing.T) {
	dir := t.TempDir()
	r := rayos(t, dir, "bench", "--ticks", "20", "--warmup", "2", "--cpuprofile", "cpu.out", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	decodeBench(t, r.stdout)
	data, err := os.ReadFile(filepath.Join(dir, "cpu.out"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		t.Errorf("cpu.out is not a pprof profile (%d bytes, starts % x)", len(data), data[:min(len(data), 4)])
	}
}

// The progress bar goes to stderr when stderr is a terminal, and never
// with --json or into a pipe. --progress-after (hidden) lowers the
// one-second threshold to 0, so that the test does not depend on how fast
// this machine ticks.
func TestGpuBenchProgressBarOnlyOnATerminal(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		args = append([]string{"bench", "--ticks", "20", "--warmup", "0", "--progress-after", "0"}, args...)
		master, slave := openPTY(t)
		cmd := exec.Command(rayosBin, args...)
		cmd.Dir = dir
		cmd.Env = withoutRayosData()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, slave
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close() // the child holds it; the master reads EIO once it exits
		read := make(chan []byte)
		go func() {
			data, _ := io.ReadAll(master)
			read <- data
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", strings.Join(args, " "), err)
			}
		case <-time.After(time.Minute): // a ceiling for a hung run
			cmd.Process.Kill()
			t.Fatalf("%s did not finish within a minute", strings.Join(args, " "))
		}
		data := <-read
		master.Close()
		return out.String(), string(data)
	}
	stdout, stderr := run()
	if !strings.Contains(stderr, "ticking desktop") || !strings.Contains(stderr, "/20") {
		t.Errorf("no progress bar on a terminal's stderr: %q", stderr)
	}
	if !strings.Contains(stdout, "RayOS headless world") || strings.Contains(stdout, "ticking") {
		t.Errorf("stdout:\n%s", stdout)
	}
	stdout, stderr = run("--json")
	if strings.Contains(stderr, "ticking") {
		t.Errorf("a progress bar with --json: %q", stderr)
	}
	decodeBench(t, stdout)
	r := rayos(t, dir, "bench", "--ticks", "20", "--warmup", "0", "--progress-after", "0")
	if r.code != 0 || strings.Contains(r.stderr, "ticking") {
		t.Errorf("exit %d; a progress bar into a pipe: %q", r.code, r.stderr)
	}
}

// openPTY returns a new pseudo-terminal's master and slave ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		t.Helper()
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), req, uintptr(arg)); errno != 0 {
			master.Close()
			t.Fatalf("ioctl %#x on /dev/ptmx: %v", req, errno)
		}
	}
	var unlock int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	slave, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatalf("open the pty's slave: %v", err)
	}
	return master, slave
}
