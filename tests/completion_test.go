package tests

import (
	"slices"
	"strings"
	"testing"
)

// TestCompletionValues asks the binary what a shell's completion would
// (cobra's hidden __complete): the values it offers and the directive
// that tells the shell whether to add file names.
func TestCompletionValues(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{"boot", "--scene", ""}, []string{"demo", "desktop", "stress"}, ":4"},
		{[]string{"boot", "--entry", ""}, []string{"normal", "recovery", "previous"}, ":4"},
		{[]string{"image", "boot", "rayos.img", "--entry", ""}, []string{"normal", "recovery", "previous"}, ":4"},
		// The image argument: files ending .img (FilterFileExt), once.
		{[]string{"image", "boot", ""}, []string{"img"}, ":8"},
		{[]string{"image", "boot", "rayos.img", ""}, nil, ":4"},
	} {
		r := rayos(t, dir, append([]string{"__complete"}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) == 0 || lines[len(lines)-1] != c.directive {
			t.Errorf("complete %q: exit %d, output %q; want directive %s", c.args, r.code, r.stdout, c.directive)
			continue
		}
		got := lines[:len(lines)-1]
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("complete %q offers %q, want %q among them", c.args, got, w)
			}
		}
		if c.want == nil && len(got) != 0 {
			t.Errorf("complete %q offers %q, want nothing", c.args, got)
		}
	}
}
