package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestToolingMakeBenchFailsWithAFailingBenchmark runs the Makefile's bench
// target with a stand-in for go whose benchmark run fails (as
// BenchmarkAttentionDecay/ecs did), in a scratch folder so that the real
// bin/bench.txt is left alone. The pipeline into tee used to hide the
// failure and make exited 0.
func TestToolingMakeBenchFailsWithAFailingBenchmark(t *testing.T) {
	makefile, err := filepath.Abs("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fakeGo := filepath.Join(dir, "go")
	script := `#!/bin/sh
# "go test" fails like a failing benchmark; anything else (the report) passes.
case "$1" in
test) echo "--- FAIL: BenchmarkAttentionDecay/ecs/n=10000"; echo FAIL; exit 1;;
esac
echo "ran: $*" >> ran.txt
`
	if err := os.WriteFile(fakeGo, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// -o deps: take the apt packages as installed; this is about the
	// recipe, not the machine.
	cmd := exec.Command("make", "-f", makefile, "-o", "deps", "bench", "GO="+fakeGo, "BENCH_COUNT=1")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("make bench exited 0 although the benchmarks failed:\n%s", out)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("make did not run: %v", err)
	}
	if !strings.Contains(string(out), "--- FAIL: BenchmarkAttentionDecay/ecs") {
		t.Errorf("the failing benchmark's output did not reach the terminal:\n%s", out)
	}
	if ran, err := os.ReadFile(filepath.Join(dir, "ran.txt")); err == nil {
		t.Errorf("make went on after the failing step:\n%s", ran)
	}
	// tee still saved what the run printed.
	if saved, err := os.ReadFile(filepath.Join(dir, "bin", "bench.txt")); err != nil || !strings.Contains(string(saved), "--- FAIL") {
		t.Errorf("bin/bench.txt = %q, %v", saved, err)
	}
}
