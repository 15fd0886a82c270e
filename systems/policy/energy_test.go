package policy_test

import (
	"strings"
	"testing"

	"github.com/rayos/engine/systems/policy"
)

func TestEnergyTableLoads(t *testing.T) {
	p := mustLoad(t, "version = 1\n[energy]\ncpu = 0.5\nnpu = 0.2\n")
	e := p.File.Energy
	if e.CPU == nil || *e.CPU != 0.5 || e.NPU == nil || *e.NPU != 0.2 {
		t.Fatalf("energy = %+v", e)
	}
	if e.GPU != nil {
		t.Errorf("gpu left out should stay nil (the default), got %v", *e.GPU)
	}
}

func TestEnergyTableRejectsBadValues(t *testing.T) {
	text := "version = 1\n[energy]\ncpu = -1\ngpu = nan\nnpu = 1e9\nfpga = 1.0\n"
	_, err := policy.Load("p.toml", text)
	if err == nil {
		t.Fatal("bad [energy] accepted")
	}
	for _, want := range []string{
		"p.toml:3: energy.cpu: -1 is out of range",
		"p.toml:4: energy.gpu: NaN is out of range",
		"p.toml:5: energy.npu: 1e+09 is out of range",
		"p.toml:6: energy.fpga: unknown key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := policy.Load("p.toml", "version = 1\n[energy]\ncpu = \"cheap\"\n"); err == nil || !strings.Contains(err.Error(), "p.toml:3") {
		t.Errorf("a string energy: %v", err)
	}
}
