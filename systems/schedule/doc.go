// Package schedule is RayOS's spatial scheduler: it decides where each
// ComputeTask lives, not when it runs. A placement's cost is a sum of named
// terms (see [Terms]) kept in the Placement component so every decision can
// be explained; the device with the lowest total wins.
//
// The system also moves each Device's load (the demand placed on it) and
// temperature (a first-order thermal model with seeded noise), which feed
// back into the next decisions.
package schedule
