package policy

import (
	"strings"
	"testing"
)

func TestVolumeTable(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"version = 1\n", true},
		{"version = 1\n[volume]\n", true},
		{"version = 1\n[volume]\nenabled = true\n", true},
		{"version = 1\n[volume]\nenabled = false\n", false},
	} {
		p, err := Load("p.toml", c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if got := p.VolumeEnabled(); got != c.want {
			t.Errorf("%q: VolumeEnabled %v, want %v", c.text, got, c.want)
		}
	}
	if RestrictedPolicy("broken").VolumeEnabled() {
		t.Error("the restricted policy stages the Volume")
	}
	for text, want := range map[string]string{
		"version = 1\n[volume]\nenabled = \"yes\"\n": "p.toml:3: volume.enabled:",
		"version = 1\n[volume]\nenabeld = true\n":    "p.toml:3: volume.enabeld: unknown key",
		"version = 1\nvolume = true\n":               "p.toml:2: volume:",
	} {
		_, err := Load("p.toml", text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", text, err, want)
		}
	}
	// The default policy leaves the Volume on.
	p, err := Load("default", Default())
	if err != nil || !p.VolumeEnabled() {
		t.Errorf("default policy: %v, enabled %v", err, p != nil && p.VolumeEnabled())
	}
}
