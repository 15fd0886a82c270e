package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An argument with a control character could smuggle a second request
// into the line (today `type linux $'x\npresent windows'` presented
// windows): ctl refuses it as bad usage and sends nothing.
func TestCtlRefusesControlCharacters(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	for _, arg := range []string{"x\npresent windows", "x\rpresent windows", "\x1b[2J", "tab\there"} {
		res := rayos(t, dir, "ctl", "--data", "data", "type", "linux", arg)
		if res.code != 2 || !strings.Contains(res.stderr, "argument 3 ") || !strings.Contains(res.stderr, "control character") {
			t.Errorf("ctl type linux %q: exit %d, stderr %q; want 2 naming argument 3", arg, res.code, res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("ctl type linux %q printed %q", arg, res.stdout)
		}
	}
	res := rayos(t, dir, "ctl", "--data", "data", "status")
	if res.code != 0 || !strings.Contains(res.stdout, "windows=hidden") {
		t.Errorf("status after the refused requests: exit %d %q", res.code, res.stdout)
	}
	r.terminate(t)
	for _, m := range []string{"RAYOS_HOST_EVENT_V0:present:windows", "RAYOS_GUEST:windows:presented", "RAYOS_HOST_EVENT_V0:type:"} {
		if strings.Contains(r.output(), m) {
			t.Errorf("a refused argument reached RayOS: %s in\n%s", m, r.output())
		}
	}
}

// --control naming something that is not a socket is bad usage: refused
// before anything is written, and left alone (it used to be deleted).
func TestControlPathThatIsNotASocketIsLeftAlone(t *testing.T) {
	cases := []struct {
		name, why string
		make      func(path string) error
		check     func(path string) error
	}{
		{"file", "is a regular file",
			func(p string) error { return os.WriteFile(p, []byte("precious"), 0o644) },
			func(p string) error {
				data, err := os.ReadFile(p)
				if err == nil && string(data) != "precious" {
					err = os.ErrInvalid
				}
				return err
			}},
		{"dir", "is a directory",
			func(p string) error { return os.Mkdir(p, 0o755) },
			func(p string) error {
				info, err := os.Stat(p)
				if err == nil && !info.IsDir() {
					err = os.ErrInvalid
				}
				return err
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "precious")
			if err := c.make(path); err != nil {
				t.Fatal(err)
			}
			res := rayos(t, dir, "boot", "--data", "data", "--gpu", "cpu", "--hz", "100", "--ticks", "20", "--control", path)
			if res.code != 2 || !strings.Contains(res.stderr, path) || !strings.Contains(res.stderr, c.why) {
				t.Errorf("boot --control %s: exit %d, stderr %q; want 2 naming the path and saying it %s", c.name, res.code, res.stderr, c.why)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Errorf("boot --control %s wrote RAYOS_DATA before refusing", c.name)
			}
			if err := c.check(path); err != nil {
				t.Errorf("%s after the boot: %v", path, err)
			}
		})
	}
}
