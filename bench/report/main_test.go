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
