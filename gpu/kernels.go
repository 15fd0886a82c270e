package gpu

import (
	"unsafe"

	"github.com/rayos/engine/components"
)

// kernel is one entry of the kernel table: its name in package shaders,
// how many buffers it binds, and its CPU twin over those buffers' bytes.
type kernel struct {
	name     string
	bindings int
	twin     func(bufs [][]byte)
}

var kernelTable = []kernel{
	// The appending kernels add to the count in their last buffer, as the
	// shaders' atomicAdd does: the caller zeroes it before the run.
	{"hit", 6, func(b [][]byte) {
		p := view[HitParams](b[0])[0]
		count := &view[uint32](b[5])[0]
		changes := view[HitChange](b[4])
		*count += uint32(HitTest(view[components.AttentionRay](b[1])[:p.RayCount], view[components.Surface](b[2])[:p.SurfaceCount],
			view[Hit](b[3])[:p.RayCount], changes[*count:]))
	}},
	{"place", 6, func(b [][]byte) {
		p := &view[PlaceParams](b[0])[0]
		count := &view[uint32](b[5])[0]
		actions := view[PlaceAction](b[4])
		*count += uint32(PlaceTasks(p, view[components.ComputeTask](b[1])[:p.TaskCount], view[components.Device](b[2])[:p.DeviceCount],
			view[uint32](b[3])[:p.TaskCount], actions[*count:]))
	}},
	{"compose", 6, func(b [][]byte) {
		p := view[ComposeParams](b[0])[0]
		Compose(p, view[components.Surface](b[1]), view[uint32](b[2]), view[Texture](b[3]), view[uint32](b[4]), view[uint32](b[5])[:p.Width*p.Height])
	}},
}

func kernelByName(name string) (kernel, bool) {
	for _, k := range kernelTable {
		if k.name == name {
			return k, true
		}
	}
	return kernel{}, false
}

// view reinterprets a byte buffer as a slice of T. Buffers are allocated
// 8-byte aligned and every kernel type is 4-byte aligned plain data.
func view[T any](b []byte) []T {
	var zero T
	n := len(b) / int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// Bytes views a slice of plain data as bytes, for Write and Read.
func Bytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}
