package display

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Channel is where one colour channel sits in a pixel: its lowest bit and
// its width in bits (fb_bitfield's offset and length).
type Channel struct {
	Offset, Length int
}

// Geometry is a framebuffer's mode and memory: what the two FBIOGET
// ioctls report, or what a test says a file holds.
type Geometry struct {
	// Width and Height are the visible pixels (xres, yres).
	Width, Height int
	// XOffset and YOffset are where the visible area starts in the
	// buffer (a panned or double-buffered mode).
	XOffset, YOffset int
	// Stride is the bytes from one line to the next (line_length).
	Stride int
	// BitsPerPixel is 32, 24 or 16 for the formats drawn here.
	BitsPerPixel int
	// Red, Green, Blue and Alpha are the channels; Alpha.Length is 0 when
	// the mode has none (efifb's usual BGRX), else it is drawn opaque.
	Red, Green, Blue, Alpha Channel
	// Memory is the framebuffer memory's size in bytes (smem_len).
	Memory int
}

// Mode is the geometry as WIDTHxHEIGHTxBPP (1280x800x32).
func (g Geometry) Mode() string {
	return fmt.Sprintf("%dx%dx%d", g.Width, g.Height, g.BitsPerPixel)
}

// validate says why Draw could not draw into this geometry; dev names the
// device (or file) in the error.
func (g Geometry) validate(dev string) error {
	if g.Width <= 0 || g.Height <= 0 {
		return fmt.Errorf("framebuffer %s: empty mode %dx%d", dev, g.Width, g.Height)
	}
	if g.XOffset < 0 || g.YOffset < 0 {
		return fmt.Errorf("framebuffer %s: negative offset %d,%d", dev, g.XOffset, g.YOffset)
	}
	switch g.BitsPerPixel {
	case 32, 24, 16:
	default:
		return fmt.Errorf("framebuffer %s: unsupported format: %d bits per pixel (RayOS draws 32, 24 or 16 bpp packed RGB)", dev, g.BitsPerPixel)
	}
	for _, c := range []struct {
		name string
		ch   Channel
		min  int
	}{{"red", g.Red, 1}, {"green", g.Green, 1}, {"blue", g.Blue, 1}, {"alpha", g.Alpha, 0}} {
		if c.ch.Length < c.min || c.ch.Length > 8 || c.ch.Offset < 0 || c.ch.Offset+c.ch.Length > g.BitsPerPixel {
			return fmt.Errorf("framebuffer %s: unsupported format: %d bpp with %s at bit %d, %d bits (want 1 to 8 bits inside the pixel)",
				dev, g.BitsPerPixel, c.name, c.ch.Offset, c.ch.Length)
		}
	}
	bpp := g.BitsPerPixel / 8
	if g.Stride < (g.XOffset+g.Width)*bpp {
		return fmt.Errorf("framebuffer %s: line length %d bytes, the %s mode at x offset %d needs %d", dev, g.Stride, g.Mode(), g.XOffset, (g.XOffset+g.Width)*bpp)
	}
	if need := g.end(); g.Memory < need {
		return fmt.Errorf("framebuffer %s: %d bytes of memory, the %s mode at line length %d needs %d", dev, g.Memory, g.Mode(), g.Stride, need)
	}
	return nil
}

// end is one past the last byte the visible area uses.
func (g Geometry) end() int {
	return (g.YOffset+g.Height-1)*g.Stride + (g.XOffset+g.Width)*g.BitsPerPixel/8
}

// Framebuffer is a mapped framebuffer: a device (Open) or a file
// (OpenFile). Its methods are for one goroutine at a time.
type Framebuffer struct {
	dev  string
	geo  Geometry
	file *os.File
	mem  []byte
	// console is /dev/tty0, switched to KD_GRAPHICS by Open; nil when
	// there was none or it could not be switched.
	console *os.File
	fit     fit
	row     []byte
	fitted  bool
}

// OpenFile maps f — a regular file at least g.Memory bytes long (0: f's
// size) — as a framebuffer of geometry g. It is the tests' way into the
// drawing code; the console is left alone. The Framebuffer does not own
// f: Close unmaps it and leaves f open.
func OpenFile(f *os.File, g Geometry) (*Framebuffer, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("framebuffer %s: %w", f.Name(), err)
	}
	if g.Memory == 0 {
		g.Memory = int(info.Size())
	}
	if int64(g.Memory) > info.Size() {
		return nil, fmt.Errorf("framebuffer %s: geometry says %d bytes of memory, the file has %d", f.Name(), g.Memory, info.Size())
	}
	fb := &Framebuffer{dev: f.Name(), geo: g}
	if err := fb.mmap(f); err != nil {
		return nil, err
	}
	return fb, nil
}

// mmap validates the geometry and maps its memory from f.
func (fb *Framebuffer) mmap(f *os.File) error {
	if err := fb.geo.validate(fb.dev); err != nil {
		return err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, fb.geo.Memory, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("framebuffer %s: mapping %d bytes: %w", fb.dev, fb.geo.Memory, err)
	}
	fb.mem = mem
	return nil
}

// Device is the device's (or file's) path.
func (fb *Framebuffer) Device() string { return fb.dev }

// Geometry is the mode the framebuffer was opened in.
func (fb *Framebuffer) Geometry() Geometry { return fb.geo }

// Close unmaps the memory, closes the device and gives the text console
// back (KD_TEXT). Closing twice does nothing.
func (fb *Framebuffer) Close() error {
	var errs []error
	if fb.mem != nil {
		if err := unix.Munmap(fb.mem); err != nil {
			errs = append(errs, fmt.Errorf("framebuffer %s: unmapping: %w", fb.dev, err))
		}
		fb.mem = nil
	}
	if fb.console != nil {
		if err := unix.IoctlSetInt(int(fb.console.Fd()), kdSetMode, kdText); err != nil {
			errs = append(errs, fmt.Errorf("console %s: KDSETMODE KD_TEXT: %w", fb.console.Name(), err))
		}
		fb.console.Close()
		fb.console = nil
	}
	if fb.file != nil {
		if err := fb.file.Close(); err != nil {
			errs = append(errs, fmt.Errorf("framebuffer %s: %w", fb.dev, err))
		}
		fb.file = nil
	}
	return errors.Join(errs...)
}
