package gpu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The structs and constants vkcall.go declares by hand have the sizes,
// field offsets and values of the real Vulkan headers: a program compiled
// against <vulkan/vulkan.h> (libvulkan-dev, which `make deps` installs)
// prints the same names, and every value must agree. A wrong offset here
// would pass garbage to the driver.
func TestDirectCallLayout(t *testing.T) {
	ours := parseLayout(t, directCallLayout())
	if len(ours.names) < 40 {
		t.Fatalf("the layout lists only %d entries:\n%s", len(ours.names), directCallLayout())
	}
	var prog strings.Builder
	prog.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include <vulkan/vulkan.h>\nint main(void) {\n")
	for _, name := range ours.names {
		var expr string
		switch typ, field, isField := strings.Cut(name, "."); {
		case isField:
			expr = fmt.Sprintf("offsetof(%s, %s)", typ, field)
		case strings.HasPrefix(name, "Vk"):
			expr = fmt.Sprintf("sizeof(%s)", name)
		default:
			expr = "(long long)" + name
		}
		fmt.Fprintf(&prog, "\tprintf(\"%s=%%llu\\n\", (unsigned long long)%s);\n", name, expr)
	}
	prog.WriteString("\treturn 0;\n}\n")
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(src, []byte(prog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if out, err := exec.Command(cc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("compiling against <vulkan/vulkan.h> (libvulkan-dev; run `make deps`): %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	real := parseLayout(t, string(out))
	for _, name := range ours.names {
		if ours.values[name] != real.values[name] {
			t.Errorf("%s: vkcall.go has %d, <vulkan/vulkan.h> %d", name, ours.values[name], real.values[name])
		}
	}
}

type layout struct {
	names  []string
	values map[string]uint64
}

func parseLayout(t *testing.T, text string) layout {
	t.Helper()
	l := layout{values: map[string]uint64{}}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		name, value, ok := strings.Cut(line, "=")
		var v uint64
		if _, err := fmt.Sscan(value, &v); !ok || err != nil {
			t.Fatalf("layout line %q", line)
		}
		l.names = append(l.names, name)
		l.values[name] = v
	}
	return l
}
