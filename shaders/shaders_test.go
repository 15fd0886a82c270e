package shaders

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The committed SPIR-V must be what glslc makes of the committed sources.
// make test installs glslc, so this never skips in CI.
func TestSPIRVIsFresh(t *testing.T) {
	glslc, err := exec.LookPath("glslc")
	if err != nil {
		t.Fatal("glslc not found: run `make deps` (Debian package glslc)")
	}
	for _, k := range Kernels {
		out := filepath.Join(t.TempDir(), k+".spv")
		args := append(append([]string{}, GlslcArgs...), k+".comp", "-o", out)
		if msg, err := exec.Command(glslc, args...).CombinedOutput(); err != nil {
			t.Fatalf("glslc %s: %v\n%s", k, err, msg)
		}
		fresh, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := SPIRV(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s.spv is stale: run `go generate ./shaders` and commit it", k)
		}
	}
}

func TestEveryKernelIsValidSPIRV(t *testing.T) {
	for _, k := range Kernels {
		code, err := SPIRV(k)
		if err != nil {
			t.Fatal(err)
		}
		if len(code)%4 != 0 || binary.LittleEndian.Uint32(code) != 0x07230203 {
			t.Errorf("%s.spv: not SPIR-V (bad magic or length %d)", k, len(code))
		}
	}
	if _, err := SPIRV("nope"); err == nil {
		t.Error("unknown kernel accepted")
	}
}
