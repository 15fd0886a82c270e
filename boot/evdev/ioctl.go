package evdev

import (
	"bytes"
	"encoding/binary"
	"os"
	"syscall"
	"unsafe"
)

// The evdev ioctls RayOS uses (linux/input.h), built like the kernel's
// _IOC(_IOC_READ, 'E', nr, size).
func ioc(nr, size uintptr) uintptr { return 2<<30 | size<<16 | 'E'<<8 | nr }

// eviocgname is EVIOCGNAME(n): the device's name, at most n bytes.
func eviocgname(n uintptr) uintptr { return ioc(0x06, n) }

// eviocgkey is EVIOCGKEY(n): the keys held down, a bit per code.
func eviocgkey(n uintptr) uintptr { return ioc(0x18, n) }

// eviocgabs is EVIOCGABS(axis): struct input_absinfo, six s32.
func eviocgabs(axis uintptr) uintptr { return ioc(0x40+axis, absinfoSize) }

const absinfoSize = 24

// ioctl runs a read ioctl into buf on f's descriptor.
func ioctl(f *os.File, req uintptr, buf []byte) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&buf[0])))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// deviceName is the device's name (EVIOCGNAME); "" when it has none or
// is not an evdev device (a named pipe).
func deviceName(f *os.File) string {
	buf := make([]byte, 256)
	if ioctl(f, eviocgname(uintptr(len(buf))), buf) != nil {
		return ""
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	return string(buf)
}

// absAxis is the range of an absolute axis (EVIOCGABS), nil when the
// device has none.
func absAxis(f *os.File, axis uintptr) *Axis {
	buf := make([]byte, absinfoSize)
	if ioctl(f, eviocgabs(axis), buf) != nil {
		return nil
	}
	a := &Axis{Min: int32(binary.NativeEndian.Uint32(buf[4:])), Max: int32(binary.NativeEndian.Uint32(buf[8:]))}
	if !a.usable() {
		return nil
	}
	return a
}

// keyState reads the keys held down (EVIOCGKEY).
func keyState(f *os.File) ([]byte, error) {
	buf := make([]byte, (KeyMax+1+7)/8)
	return buf, ioctl(f, eviocgkey(uintptr(len(buf))), buf)
}
