package gpu

import (
	"math/bits"
	"unsafe"

	"github.com/rayos/engine/components"
)

// kernel is one entry of the kernel table: its name in package shaders,
// how many buffers it binds, and its CPU twin over those buffers' bytes,
// cut into ranges of elements so that the CPU backend's pool can run
// disjoint ranges at once (pool.go).
type kernel struct {
	name     string
	bindings int
	// size says how many elements a run has (rays, tasks, frame rows)
	// and roughly what one costs, in nanoseconds: what the pool needs to
	// decide whether and how finely to split the run.
	size func(b [][]byte) (n, cost int)
	// run computes the elements [lo, hi). An appending kernel appends
	// from entry at of its list (the binding before the last) and returns
	// how many entries it appended; the others return 0. Running [0, n)
	// with at = the count in the last binding, then adding the result to
	// that count, is the twin.
	run func(b [][]byte, at, lo, hi int) int
	// item is the size of an appended entry, 0 for a kernel that does not
	// append. Appending kernels keep their list in binding bindings-2 and
	// its count in the last binding (a uint32), as the shaders' atomicAdd
	// does: the caller zeroes it before the run.
	item int
}

// Rough costs of a unit of work in nanoseconds, from BenchmarkCPUPool's
// serial times on the development machine (a 2-core EPYC VM, Go 1.26):
// one ray × surface test (averaged over rays of weight 0, which test
// nothing, and invisible surfaces), one task × device evaluation, one
// pixel blended; filling a pixel with the background costs about a third
// of a nanosecond. They only steer the pool's chunking, never results.
const (
	costRaySurface = 7
	costTaskDevice = 16
	costBlend      = 9
	fillsPerNs     = 3
)

var kernelTable = []kernel{
	{
		name: "hit", bindings: 7, item: int(unsafe.Sizeof(HitChange{})),
		size: func(b [][]byte) (int, int) {
			p := view[HitParams](b[0])[0]
			if p.DirtyOnly == 0 || p.RayCount == 0 {
				return int(p.RayCount), 1 + costRaySurface*int(p.SurfaceCount)
			}
			// Only the marked rays are tested: spread their cost over all.
			marked := 0
			for _, w := range view[uint32](b[4])[:(p.RayCount+31)/32] {
				marked += bits.OnesCount32(w)
			}
			return int(p.RayCount), 1 + costRaySurface*int(p.SurfaceCount)*marked/int(p.RayCount)
		},
		run: func(b [][]byte, at, lo, hi int) int {
			p := view[HitParams](b[0])[0]
			var dirty []uint32
			if p.DirtyOnly != 0 {
				dirty = view[uint32](b[4])
			}
			return hitRange(view[components.AttentionRay](b[1])[:p.RayCount], view[components.Surface](b[2])[:p.SurfaceCount],
				view[Hit](b[3])[:p.RayCount], dirty, view[HitChange](b[5])[at:], lo, hi)
		},
	},
	{
		name: "place", bindings: 8, item: int(unsafe.Sizeof(PlaceAction{})),
		size: func(b [][]byte) (int, int) {
			p := &view[PlaceParams](b[0])[0]
			// An upper bound: placed tasks outside the rebalance window and
			// tasks that fit nowhere cost next to nothing. With clusters, a
			// task bounds each cluster about twice and searches a few.
			perTask := int(p.DeviceCount)
			if p.ClusterCount > 0 {
				perTask = min(perTask, 2*int(p.ClusterCount)+4*ClusterLeaf)
			}
			return int(p.TaskCount), 1 + costTaskDevice*perTask
		},
		run: func(b [][]byte, at, lo, hi int) int {
			p := &view[PlaceParams](b[0])[0]
			var clusters []Cluster
			if p.ClusterCount > 0 {
				clusters = view[Cluster](b[4])[:p.ClusterCount]
			}
			return placeRange(p, view[components.ComputeTask](b[1])[:p.TaskCount], view[components.Device](b[2])[:p.DeviceCount],
				view[uint32](b[3])[:p.TaskCount], clusters, view[uint32](b[5]), view[PlaceAction](b[6])[at:], lo, hi)
		},
	},
	{
		name: "compose", bindings: 10,
		size: func(b [][]byte) (int, int) {
			p := view[ComposeParams](b[0])[0]
			if p.TileCount == 0 {
				return 0, 1
			}
			// Every pixel of a tile is filled, then blended once per
			// surface binned over the tile.
			start := view[uint32](b[6])
			slots := int(start[min(int(p.TileCount), len(start)-1)])
			perTile := TileSize * TileSize * (1 + costBlend*slots/int(p.TileCount))
			return int(p.TileCount), 1 + perTile
		},
		run: func(b [][]byte, _, lo, hi int) int {
			p := view[ComposeParams](b[0])[0]
			ComposeTiles(p, view[components.Surface](b[1]), view[Texture](b[2]), view[Decor](b[3]), view[uint32](b[4]),
				view[uint32](b[5]), view[uint32](b[6]), view[uint32](b[7]), view[uint32](b[8]), view[uint32](b[9]), lo, hi)
			return 0
		},
	},
	searchKernel, // search.go
}

func kernelByName(name string) (*kernel, bool) {
	for i := range kernelTable {
		if kernelTable[i].name == name {
			return &kernelTable[i], true
		}
	}
	return nil, false
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
