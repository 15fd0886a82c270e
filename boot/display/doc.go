// Package display puts the compositor's frame on a Linux framebuffer
// device (fbdev: /dev/fb0, which the kernel's efifb provides on a UEFI
// machine), so that RayOS, running as PID 1 of its image, owns the
// screen.
//
// A Framebuffer is the mapped device memory and the mode it was found in
// (FBIOGET_VSCREENINFO, FBIOGET_FSCREENINFO): 32, 24 or 16 bits per pixel
// packed RGB, in whatever channel order the mode says. The frame (RGBA
// texels, R first in memory) is scaled to fit the screen with its aspect
// kept, centred between black bars; Draw redraws only the screen
// rectangles a list of frame rectangles (the compositor's damaged tiles)
// map to. Open also switches the kernel's text console to graphics mode
// (KD_GRAPHICS on /dev/tty0), so that the console's cursor and messages
// do not draw over the frame, and Close switches it back.
//
// OpenFile maps a regular file with a given geometry instead of a device:
// the tests (and the benchmark) run the same drawing code on it.
//
// The package draws; it does not decide when. boot/display.go feeds it
// from the frame tap on a goroutine of its own, off the tick.
package display
