// Package boot is the RayOS runtime that the bootloader hands off to: it
// prepares RayOS Data, builds the world, assembles the tick [Pipeline], and
// ticks until told to stop, emitting the boot markers of docs/markers.md.
//
// Start with [Run] and its [Options]; [Pipeline] is the fixed system order
// that `rayos boot --explain` prints.
package boot
