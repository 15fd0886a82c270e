package main

import (
	"strings"
	"testing"
)

func TestReportComputesMediansAndRatios(t *testing.T) {
	in := `goos: linux
BenchmarkAttentionDecay/ecs/n=10000-2     100   7000 ns/op   0.70 ns/entity
BenchmarkAttentionDecay/ecs/n=10000-2     100   9000 ns/op   0.90 ns/entity
BenchmarkAttentionDecay/ecs/n=10000-2     100   8000 ns/op   0.80 ns/entity
BenchmarkAttentionDecay/slice/n=10000-2   100   4000 ns/op   0.40 ns/entity
BenchmarkAttentionDecay/slice/n=10000-2   100   4000 ns/op   0.40 ns/entity
BenchmarkKernelHit/cpu/scene=desktop-2     100   4000 ns/op
BenchmarkKernelHit/vulkan/scene=desktop-2  100   40000 ns/op   368 B/op   8 allocs/op
BenchmarkEmptyTick-2   1000   560.9 ns/op   0 B/op   0 allocs/op
PASS`
	var out strings.Builder
	if err := report(strings.NewReader(in), &out, "slice,copy,cpu", "ns/entity"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| AttentionDecay | n=10000 | ecs | 0.800 | ns/entity | 2.00 |  |",
		"| AttentionDecay | n=10000 | slice | 0.400 | ns/entity | 1.00 |  |",
		"| KernelHit | scene=desktop | vulkan | 40000 | ns/op | 10.00 | 368 B/op, 8.00 allocs/op |",
		"| EmptyTick | 561 | ns/op |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := report(strings.NewReader("nothing here"), &out, "slice", "ns/entity"); err == nil {
		t.Error("empty input accepted")
	}
}

// What `make bench` printed while BenchmarkAttentionDecay/ecs needed a GPU
// mirror it was not given: the ecs rows were gone and the report printed
// the rest as if it were the whole table.
const failedRun = `--- FAIL: BenchmarkAttentionDecay/ecs/n=10000
    world_bench_test.go:33: attention-decay needs the GPU mirror: install one with gpu.Install before the scheduler
goos: linux
BenchmarkAttentionDecay/ecs-entity-by-entity/n=10000-2         	       1	     28553 ns/op	         2.855 ns/entity
BenchmarkAttentionDecay/slice/n=10000-2                        	       1	     10476 ns/op	         1.048 ns/entity
--- FAIL: BenchmarkAttentionDecay
FAIL
exit status 1
FAIL	github.com/rayos/engine/bench	0.319s
FAIL
`

func TestReportRefusesAFailedBenchmark(t *testing.T) {
	var out strings.Builder
	err := report(strings.NewReader(failedRun), &out, "slice", "ns/entity")
	if err == nil {
		t.Fatalf("a failed benchmark gave a table:\n%s", out.String())
	}
	for _, want := range []string{"AttentionDecay/ecs/n=10000 failed", "package github.com/rayos/engine/bench failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if out.Len() != 0 {
		t.Errorf("a partial table was printed:\n%s", out.String())
	}
}

func TestReportRefusesAMissingRow(t *testing.T) {
	// ecs has a result at 10k but none at 100k, with no FAIL line (a
	// truncated run): the 100k table would lose its ecs row.
	in := `BenchmarkAttentionDecay/ecs/n=10000-2     100   8000 ns/op   0.80 ns/entity
BenchmarkAttentionDecay/slice/n=10000-2   100   4000 ns/op   0.40 ns/entity
BenchmarkAttentionDecay/slice/n=100000-2  100   40000 ns/op  0.40 ns/entity
BenchmarkEmptyTick-2   1000   560.9 ns/op   0 B/op   0 allocs/op
`
	var out strings.Builder
	err := report(strings.NewReader(in), &out, "slice", "ns/entity")
	if err == nil || !strings.Contains(err.Error(), "AttentionDecay/ecs/n=100000 has no result") {
		t.Fatalf("err = %v, want the missing ecs row named", err)
	}
	// A benchmark the tables need that did not run at all.
	err = report(strings.NewReader(in), &out, "slice", "ns/entity", "EmptyTick", "DemoTick", "AttentionDecay/slice")
	if err == nil || !strings.Contains(err.Error(), "DemoTick has no result") || strings.Contains(err.Error(), "EmptyTick") {
		t.Fatalf("err = %v, want DemoTick (and only it) named as missing", err)
	}
	if out.Len() != 0 {
		t.Errorf("a partial table was printed:\n%s", out.String())
	}
	// Everything required present: the table prints.
	complete := in + "BenchmarkAttentionDecay/ecs/n=100000-2  100   80000 ns/op  0.80 ns/entity\n"
	if err := report(strings.NewReader(complete), &out, "slice", "ns/entity", "EmptyTick", "AttentionDecay/ecs"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| AttentionDecay | n=100000 | ecs | 0.800 | ns/entity | 2.00 |  |") {
		t.Errorf("complete run, table:\n%s", out.String())
	}
}
