package display

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Linux ioctls used here (linux/fb.h, linux/kd.h).
const (
	fbiogetVScreenInfo = 0x4600
	fbiogetFScreenInfo = 0x4602
	kdSetMode          = 0x4B3A
	kdText             = 0
	kdGraphics         = 1

	fbTypePackedPixels  = 0
	fbVisualTrueColor   = 2
	fbVisualDirectColor = 4
)

// Console is the virtual terminal Open switches to graphics mode: the
// one the kernel's framebuffer console draws on.
const Console = "/dev/tty0"

// fbBitfield is struct fb_bitfield.
type fbBitfield struct {
	Offset, Length, MsbRight uint32
}

// fbVarScreenInfo is struct fb_var_screeninfo (160 bytes).
type fbVarScreenInfo struct {
	Xres, Yres, XresVirtual, YresVirtual, Xoffset, Yoffset uint32
	BitsPerPixel, Grayscale                                uint32
	Red, Green, Blue, Transp                               fbBitfield
	Nonstd, Activate, Height, Width, AccelFlags            uint32
	Pixclock, LeftMargin, RightMargin, UpperMargin         uint32
	LowerMargin, HsyncLen, VsyncLen, Sync, Vmode, Rotate   uint32
	Colorspace                                             uint32
	Reserved                                               [4]uint32
}

// fbFixScreenInfo is struct fb_fix_screeninfo; unsigned long is a
// uintptr, and Go aligns the fields as C does.
type fbFixScreenInfo struct {
	ID                             [16]byte
	SmemStart                      uintptr
	SmemLen, Type, TypeAux, Visual uint32
	Xpanstep, Ypanstep, Ywrapstep  uint16
	LineLength                     uint32
	MmioStart                      uintptr
	MmioLen, Accel                 uint32
	Capabilities                   uint16
	Reserved                       [2]uint16
}

// Open opens and maps the framebuffer device at path in its current mode
// (RayOS does not change modes: efifb cannot) and switches the text
// console to graphics mode. A console that is missing or cannot be
// switched is not an error — the frame is still drawn, and the console
// may draw over it — and is logged on log (nil: slog's default).
func Open(path string, log *slog.Logger) (*Framebuffer, error) {
	if log == nil {
		log = slog.Default()
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("framebuffer %s: %w", path, err)
	}
	var v fbVarScreenInfo
	var x fbFixScreenInfo
	if err := ioctl(f, fbiogetVScreenInfo, unsafe.Pointer(&v)); err != nil {
		f.Close()
		return nil, fmt.Errorf("framebuffer %s: FBIOGET_VSCREENINFO: %w (not a framebuffer device?)", path, err)
	}
	if err := ioctl(f, fbiogetFScreenInfo, unsafe.Pointer(&x)); err != nil {
		f.Close()
		return nil, fmt.Errorf("framebuffer %s: FBIOGET_FSCREENINFO: %w", path, err)
	}
	if x.Type != fbTypePackedPixels || x.Visual != fbVisualTrueColor && x.Visual != fbVisualDirectColor {
		f.Close()
		return nil, fmt.Errorf("framebuffer %s: unsupported format: type %d visual %d at %d bpp (RayOS draws packed-pixel true colour)", path, x.Type, x.Visual, v.BitsPerPixel)
	}
	fb := &Framebuffer{dev: path, file: f, geo: geometryOf(&v, &x)}
	if err := fb.mmap(f); err != nil {
		f.Close()
		return nil, err
	}
	fb.console = graphicsConsole(Console, log)
	return fb, nil
}

// geometryOf reads the mode out of the two screen infos.
func geometryOf(v *fbVarScreenInfo, x *fbFixScreenInfo) Geometry {
	ch := func(b fbBitfield) Channel { return Channel{Offset: int(b.Offset), Length: int(b.Length)} }
	return Geometry{
		Width: int(v.Xres), Height: int(v.Yres), XOffset: int(v.Xoffset), YOffset: int(v.Yoffset),
		Stride: int(x.LineLength), BitsPerPixel: int(v.BitsPerPixel),
		Red: ch(v.Red), Green: ch(v.Green), Blue: ch(v.Blue), Alpha: ch(v.Transp),
		Memory: int(x.SmemLen),
	}
}

// graphicsConsole switches the virtual terminal at path to KD_GRAPHICS:
// the framebuffer console then stops drawing (its cursor, the kernel's
// messages) until KD_TEXT. It returns the terminal to switch back on
// Close, or nil.
func graphicsConsole(path string, log *slog.Logger) *os.File {
	// O_NOCTTY: PID 1 has no controlling terminal, and opening one
	// without it would make this its controlling terminal.
	tty, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		log.Debug("no text console to switch to graphics mode", "console", path)
		return nil
	}
	if err != nil {
		log.Warn("text console not switched to graphics mode; it may draw over the frame", "console", path, "err", err)
		return nil
	}
	if err := unix.IoctlSetInt(int(tty.Fd()), kdSetMode, kdGraphics); err != nil {
		tty.Close()
		log.Warn("text console not switched to graphics mode; it may draw over the frame", "console", path, "err", fmt.Errorf("KDSETMODE KD_GRAPHICS: %w", err))
		return nil
	}
	return tty
}

// ioctl calls an ioctl whose argument is a pointer to a struct.
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
