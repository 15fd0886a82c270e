// Package schedule is RayOS's spatial scheduler: it decides where each
// ComputeTask lives, not when it runs. A placement's cost is a sum of named
// terms — locality, load, thermal, energy, priority (gpu.PlacementTerms) —
// evaluated for every task × device by the GPU's place kernel and kept in
// the Placement component, so every decision can be explained.
//
// The system also moves each Device's load (the demand placed on it) and
// temperature (a first-order thermal model with seeded noise), which feed
// back into the next evaluation.
package schedule
