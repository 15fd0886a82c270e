// Package shaders holds RayOS's GLSL compute kernels and their compiled
// SPIR-V. The .spv files are committed and embedded, so building rayos
// needs no shader compiler; `go generate ./shaders` rebuilds them with
// glslc, and TestSPIRVIsFresh fails when a committed .spv no longer matches
// its source.
//
// Kernels (each has a pure-Go twin in package gpu that is the reference):
//
//   - hit.comp: attention ray vs surface hit test
//   - place.comp: placement cost evaluation and arg-min
//   - compose.comp: surface blend into the framebuffer
//   - search.comp: exact vector search (dot-product top k), two passes
//
// common.glsl declares the std430 structs of the GPU-mirrored components.
package shaders

import (
	"embed"
	"fmt"
)

//go:generate glslc -O --target-env=vulkan1.0 -fshader-stage=compute hit.comp -o hit.spv
//go:generate glslc -O --target-env=vulkan1.0 -fshader-stage=compute place.comp -o place.spv
//go:generate glslc -O --target-env=vulkan1.0 -fshader-stage=compute compose.comp -o compose.spv
//go:generate glslc -O --target-env=vulkan1.0 -fshader-stage=compute search.comp -o search.spv

//go:embed *.spv
var spirv embed.FS

// GlslcArgs are the glslc arguments (before the source and -o) that
// produced the committed SPIR-V; the freshness test uses the same.
var GlslcArgs = []string{"-O", "--target-env=vulkan1.0", "-fshader-stage=compute"}

// Kernels names every kernel, in the order their sources are listed above.
var Kernels = []string{"hit", "place", "compose", "search"}

// SPIRV returns the compiled kernel name.
func SPIRV(name string) ([]byte, error) {
	code, err := spirv.ReadFile(name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no kernel %q", name)
	}
	return code, nil
}
