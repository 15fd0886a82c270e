// Package gpu keeps the hot part of the world resident on a compute device
// and runs RayOS's kernels there.
//
// Where to start:
//
//   - [Backend] is the one interface every device implements: persistent
//     buffers, dirty-range writes, programs of kernel dispatches recorded
//     once and submitted once per tick, read-back. [Open] picks one for
//     --gpu=auto|vulkan|cpu and says why.
//   - The CPU backend ([NewCPU]) is the reference: its kernels are the Go
//     twins [HitTest], [PlaceTasks] and [Compose]. The Vulkan backend
//     ([NewVulkan]) runs the SPIR-V of package shaders and must agree with
//     the twins (parity_test.go).
//   - [Column] mirrors one GPU-mirrored component type into a dense array
//     indexed by a stable slot per entity, and uploads only dirty ranges;
//     [Mirror] holds the columns of a world.
package gpu
