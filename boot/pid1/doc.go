// Package pid1 is rayos as the first process of an installed system (the
// initramfs's /init, docs/image.md): it mounts /dev, /proc, /sys and the
// RayOS Data partition, loads the kernel modules the initramfs carries,
// starts the runtime (`rayos boot`) as its child, reaps every orphan the
// kernel hands it, and when the runtime ends powers the machine off (a
// clean shutdown) or restarts it (a failed boot, so boot counting goes on
// across real reboots).
//
// The runtime runs as a child, not in PID 1 itself, because PID 1 must
// not die: a panic or a fatal error of the Go runtime in the world's
// process would otherwise be a kernel panic with nothing written. Here
// the child's crash is noticed, written to the data partition, and the
// machine restarts.
package pid1
