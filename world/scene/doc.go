// Package scene builds the worlds RayOS starts from: the "demo" desktop that
// `rayos boot` shows by default, and the larger synthetic worlds that
// benchmarks use. A scene only creates entities; it never runs systems.
//
// [Build] looks a scene up by name; [Demo] is the default.
package scene
