// Package components holds the plain data of RayOS's control plane: every
// value the ECS world stores on an entity is one of the structs here.
//
// The five state families of the architecture each have a file:
//
//   - [Surface]: a RayOS-owned window or a guest desktop placed in the 3D scene.
//   - [Guest]: a managed Linux or Windows VM and its lifecycle state.
//   - [Input]: one event from a keyboard, pointer, gaze tracker, voice or text source.
//   - [AttentionRay]: where the user is looking, derived from gaze input.
//   - [ComputeTask], [Device], [Placement]: spatial scheduling of compute.
//
// [IntentEnvelope] carries a resolved user intent through the policy gate.
//
// Rules for this package: structs only, no methods with logic, no imports
// beyond the standard library. The types marked "GPU-mirrored" are copied
// byte for byte into GPU storage buffers, so they are fixed-size, contain no
// pointers, strings or slices, and follow std430 layout: every [Vec3] sits at
// a 16-byte aligned offset and is followed by one 4-byte scalar, and each
// struct's size is a multiple of 16. layout_test.go checks every offset that
// the shaders rely on.
package components
