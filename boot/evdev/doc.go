// Package evdev reads the Linux kernel's input devices (/dev/input/event*)
// and turns their events into the world's inputs: keys, one pointer
// (relative mice move it, tablets place it) and the power button.
//
// It has three layers, each usable alone:
//
//   - [Decoder] splits a byte stream into [Event] records (the kernel's
//     64-bit struct input_event, 24 bytes).
//   - [Translator] follows the evdev protocol for one device: events form
//     packets ended by SYN_REPORT, SYN_DROPPED discards until the next one
//     and resynchronises held keys and buttons, and each packet becomes
//     components.Input values (docs/input.md, "Physical devices").
//   - [Devices] finds the event* devices of a folder, rescans it for
//     hot-plugged ones, runs one reader per device and hands the inputs to
//     the tick loop through a bounded queue that coalesces pointer motion.
//
// Nothing here touches the world: the runtime (boot/physinput.go) feeds
// what [Devices.Inputs] delivers, so the inputs are journaled like all
// others and a replay needs no device.
package evdev
