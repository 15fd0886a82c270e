package policy_test

import (
	"strings"
	"testing"

	"github.com/rayos/engine/systems/policy"
)

func TestCPUSet(t *testing.T) {
	for text, want := range map[string]uint64{"0": 1, "0-1,3": 0b1011, " 2 , 4-5": 0b110100, "63": 1 << 63} {
		got, err := policy.ParseCPUSet(text)
		if err != nil || got != want {
			t.Errorf("ParseCPUSet(%q) = %b, %v; want %b", text, got, err, want)
		}
		if back, _ := policy.ParseCPUSet(policy.FormatCPUSet(got)); back != got {
			t.Errorf("FormatCPUSet(%b) = %q does not read back", got, policy.FormatCPUSet(got))
		}
	}
	for _, text := range []string{"", "x", "-1", "3-1", "0,0", "64", "0-64", "1,,2", "0-"} {
		if _, err := policy.ParseCPUSet(text); err == nil {
			t.Errorf("ParseCPUSet(%q) accepted", text)
		}
	}
}

func TestPolicyCPUs(t *testing.T) {
	p, err := policy.Load("p.toml", "version = 1\n[guests.linux]\nstart = true\ncpus = \"0-1,3\"\nmax_vcpus = 2\n[guests.win]\ncpus = 2\n")
	if err != nil {
		t.Fatal(err)
	}
	c := p.CPUCaps("linux")
	if c.AllowLo != 0b1011 || c.AllowHi != 0 || c.Max != 2 || c.Count != 0 || !c.Allows(3) || c.Allows(2) {
		t.Errorf("linux caps = %+v", c)
	}
	if c := p.CPUCaps("win"); c.Count != 2 || c.AllowLo != 0 || !c.Allows(17) {
		t.Errorf("win caps = %+v", c)
	}
	if c := p.CPUCaps("nobody"); c != (p.CPUCaps("nobody")) || c.Count != 0 || c.Max != 0 {
		t.Errorf("unnamed caps = %+v", c)
	}
	for text, want := range map[string]string{
		"version = 1\n[guests.linux]\ncpus = \"0-70\"\n":       `p.toml:3: guests.linux.cpus: CPU 70 in the CPU set "0-70" is out of range [0, 63]`,
		"version = 1\n[guests.linux]\n\ncpus = \"3-1\"\n":      `p.toml:4: guests.linux.cpus: "3-1" in the CPU set "3-1" runs backwards`,
		"version = 1\n[guests.linux]\ncpus = 0\n":              `p.toml:3: guests.linux.cpus: 0 is out of range [1, 256]`,
		"version = 1\n[guests.linux]\ncpus = 1.5\n":            `p.toml:3: guests.linux.cpus: must be a vCPU count`,
		"version = 1\n[guests.linux]\nmax_vcpus = 0\n":         `p.toml:3: guests.linux.max_vcpus: 0 is out of range [1, 256]`,
		"version = 1\n[guests.linux]\ncpus = \"\"\n":           `p.toml:3: guests.linux.cpus: the CPU set "" is empty`,
		"version = 1\n[guests.linux]\ncpus = [\"0\", \"1\"]\n": `p.toml:3: guests.linux.cpus: must be a vCPU count`,
	} {
		_, err := policy.Load("p.toml", text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v; want %q", text, err, want)
		}
	}
}
