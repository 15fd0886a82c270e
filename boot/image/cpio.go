package image

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// newc is the magic of the "new ASCII" cpio format, the one the kernel
// unpacks as an initramfs.
const newc = "070701"

const trailer = "TRAILER!!!"

// Mode bits of cpio entries (the st_mode type bits).
const (
	ModeDir     = 0o040000
	ModeRegular = 0o100000
	ModeSymlink = 0o120000
	ModeCharDev = 0o020000
	modeType    = 0o170000
)

// Entry is one member of a cpio archive. For a symlink Data is the target;
// a character device has no data, its device number in Major and Minor.
type Entry struct {
	Name         string
	Mode         uint32 // type bits | permission bits
	Data         []byte
	Major, Minor uint32
}

// CPIOWriter writes a newc cpio archive.
type CPIOWriter struct {
	w      io.Writer
	ino    uint32
	n      int64
	closed bool
}

// NewCPIOWriter returns a writer that writes the archive to w.
func NewCPIOWriter(w io.Writer) *CPIOWriter { return &CPIOWriter{w: w, ino: 1} }

// Write adds one entry. Names are stored without a leading slash, as the
// kernel expects ("init", "lib/x86_64-linux-gnu/libc.so.6").
func (c *CPIOWriter) Write(e Entry) error {
	if c.closed {
		return errors.New("cpio: write after close")
	}
	name := strings.TrimLeft(e.Name, "/")
	if name == "" || name == trailer {
		return fmt.Errorf("cpio: bad entry name %q", e.Name)
	}
	switch e.Mode & modeType {
	case ModeDir, ModeRegular, ModeSymlink, ModeCharDev:
	default:
		return fmt.Errorf("cpio: %s: unsupported mode %#o", name, e.Mode)
	}
	if (e.Mode&modeType == ModeDir || e.Mode&modeType == ModeCharDev) && len(e.Data) != 0 {
		return fmt.Errorf("cpio: %s: a directory or device has no data", name)
	}
	if e.Mode&modeType != ModeCharDev && (e.Major != 0 || e.Minor != 0) {
		return fmt.Errorf("cpio: %s: only a device has a device number", name)
	}
	c.ino++
	return c.write(name, e.Mode, c.ino, e.Data, e.Major, e.Minor)
}

func (c *CPIOWriter) write(name string, mode, ino uint32, data []byte, rmajor, rminor uint32) error {
	nlink := 1
	if mode&modeType == ModeDir {
		nlink = 2
	}
	// 13 eight-digit hex fields after the magic: ino, mode, uid, gid,
	// nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
	// namesize (with its NUL), check.
	hdr := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		newc, ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	if err := c.put(buf); err != nil {
		return err
	}
	if err := c.put(data); err != nil {
		return err
	}
	return c.put(make([]byte, pad4(len(data))))
}

func (c *CPIOWriter) put(b []byte) error {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return err
}

// Close writes the trailer entry. It does not close the underlying writer.
func (c *CPIOWriter) Close() error {
	if c.closed {
		return nil
	}
	if err := c.write(trailer, 0, 0, nil, 0, 0); err != nil {
		return err
	}
	c.closed = true
	return nil
}

func pad4(n int) int { return (4 - n%4) % 4 }

// ReadCPIO reads a whole newc archive up to its trailer. A malformed
// archive is an error naming the byte offset where reading failed.
func ReadCPIO(r io.Reader) ([]Entry, error) {
	br := bufio.NewReader(r)
	var off int64
	read := func(n int) ([]byte, error) {
		b := make([]byte, n)
		_, err := io.ReadFull(br, b)
		off += int64(n)
		return b, err
	}
	var out []Entry
	for {
		start := off
		hdr, err := read(110)
		if err != nil {
			return out, fmt.Errorf("cpio: offset %d: truncated header: %w", start, err)
		}
		if string(hdr[:6]) != newc {
			return out, fmt.Errorf("cpio: offset %d: magic %q, want %q", start, hdr[:6], newc)
		}
		field := func(i int) (uint64, error) {
			s := string(hdr[6+8*i : 6+8*i+8])
			v, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				return 0, fmt.Errorf("cpio: offset %d: field %d %q is not hex", start, i, s)
			}
			return v, nil
		}
		mode, err := field(1)
		if err != nil {
			return out, err
		}
		size, err := field(6)
		if err != nil {
			return out, err
		}
		namesize, err := field(11)
		if err != nil {
			return out, err
		}
		if namesize == 0 || namesize > 4096 {
			return out, fmt.Errorf("cpio: offset %d: name size %d", start, namesize)
		}
		if size > 1<<31 {
			return out, fmt.Errorf("cpio: offset %d: file size %d too large", start, size)
		}
		name, err := read(int(namesize) + pad4(110+int(namesize)))
		if err != nil {
			return out, fmt.Errorf("cpio: offset %d: truncated name: %w", start, err)
		}
		n := string(name[:namesize-1])
		if n == trailer {
			return out, nil
		}
		data, err := read(int(size) + pad4(int(size)))
		if err != nil {
			return out, fmt.Errorf("cpio: offset %d: %s: truncated data: %w", start, n, err)
		}
		rmajor, err := field(9)
		if err != nil {
			return out, err
		}
		rminor, err := field(10)
		if err != nil {
			return out, err
		}
		out = append(out, Entry{Name: n, Mode: uint32(mode), Data: data[:size], Major: uint32(rmajor), Minor: uint32(rminor)})
	}
}
