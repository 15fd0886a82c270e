package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size bounds for the files RayOS reads at boot. They are far above what a
// real file needs and far below what would hurt: a policy or registry of a
// few hundred guests is tens of KiB.
const (
	// MaxConfigSize bounds the policy and the VM registry.
	MaxConfigSize = 1 << 20
	// MaxRecordSize bounds small records: the BootInfo and boot/state.toml.
	MaxRecordSize = 64 << 10
)

// ReadRegular reads the whole of path, which must be a regular file of at
// most limit bytes. It opens with O_NONBLOCK so that a FIFO with no writer
// cannot block the open, checks the opened file (not the name, which could
// be swapped in between) and refuses anything else — a FIFO, a device such
// as /dev/zero, a socket, a folder — so that a misplaced special file can
// neither hang the reader nor exhaust its memory. Errors name the file.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, Kind(info.Mode()))
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes is more than the %d this file may have", path, info.Size(), limit)
	}
	// The size can change after the stat (a file being appended to): read
	// one byte more than the limit to notice, never more.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: more than the %d bytes this file may have", path, limit)
	}
	return data, nil
}

// Kind names what a file is, for error messages: "a regular file", "a
// directory", "a FIFO", "a character device", …
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "mode " + m.String()
}
