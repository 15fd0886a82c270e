// Package lines reads a stream of text lines that must never stop being
// read: a process's output piped to its supervisor (PID 1 copying the
// runtime's output, `rayos image boot` reading QEMU's serial console). A
// reader that gave up on a line too long for its buffer would leave the
// writer blocked on a full pipe — the runtime, or the whole machine,
// frozen at its next write — so a long line comes in pieces instead.
package lines
