package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"
)

// File is one text file Collect read and chunked.
type File struct {
	// Path is the file as the user named it (cleaned: "./a//b" is "a/b"):
	// the argument, or the argument joined with the path inside the named
	// folder.
	Path   string
	Kind   Kind
	Size   int64
	Chunks []Chunk
}

// Skip is a file or folder Collect left out, and why.
type Skip struct {
	Path, Reason string
}

func (s Skip) String() string { return s.Path + ": " + s.Reason }

// sniffLen is how much of a file is looked at for NUL bytes.
const sniffLen = 8000

// Collect reads every file under paths (files, or folders walked in
// lexical order), chunks the text files and reports what it left out:
// hidden files and folders (a name starting with '.', except the paths
// given), binary files (a NUL byte in the first 8000 bytes), files that
// are not UTF-8, files over o.MaxFileSize, special files (FIFOs, devices,
// sockets: never opened), broken symlinks, symlinks back into a folder
// being walked (loops) and files or folders reached a second time.
// Symlinks are followed.
//
// A path that does not exist or cannot be read is an error naming it, and
// nothing is returned: the caller changes nothing.
func Collect(paths []string, o Options) ([]File, []Skip, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if len(paths) == 0 {
		return nil, nil, errors.New("no file or folder given")
	}
	c := &collector{o: o, seen: map[fileID]string{}}
	for _, p := range paths {
		if p == "" {
			return nil, nil, errors.New("empty path given")
		}
		p = filepath.Clean(p)
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, pathError(p, err)
		}
		if err := c.visit(p, info, nil); err != nil {
			return nil, nil, err
		}
	}
	return c.files, c.skips, nil
}

type fileID struct{ dev, ino uint64 }

type collector struct {
	o     Options
	files []File
	skips []Skip
	// seen maps every file and folder visited to the path it was first
	// reached by.
	seen map[fileID]string
}

func (c *collector) skip(path, format string, args ...any) {
	c.skips = append(c.skips, Skip{path, fmt.Sprintf(format, args...)})
}

// visit takes in path (info is what it resolves to); ancestors are the
// folders being walked above it, to tell a loop from a second visit.
func (c *collector) visit(path string, info fs.FileInfo, ancestors []fileID) error {
	id, hasID := identity(info)
	if hasID {
		if first, ok := c.seen[id]; ok {
			for _, a := range ancestors {
				if a == id {
					c.skip(path, "symlink loop (back to %s)", first)
					return nil
				}
			}
			c.skip(path, "already taken in as %s", first)
			return nil
		}
		c.seen[id] = path
	}
	switch {
	case info.IsDir():
		return c.walkDir(path, append(ancestors, id))
	case !info.Mode().IsRegular():
		c.skip(path, "not a regular file (%s)", info.Mode().Type())
		return nil
	case info.Size() > c.o.MaxFileSize:
		c.skip(path, "%d bytes, over the limit of %d", info.Size(), c.o.MaxFileSize)
		return nil
	}
	return c.readFile(path, info)
}

func (c *collector) walkDir(dir string, ancestors []fileID) error {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return pathError(dir, err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			what := "file"
			if e.IsDir() {
				what = "folder"
			}
			c.skip(path, "hidden %s", what)
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			if _, lerr := os.Lstat(path); lerr == nil && errors.Is(err, fs.ErrNotExist) {
				target, _ := os.Readlink(path)
				c.skip(path, "broken symlink (to %s)", target)
				continue
			}
			if errors.Is(err, syscall.ELOOP) {
				c.skip(path, "symlink loop")
				continue
			}
			return pathError(path, err)
		}
		if err := c.visit(path, info, ancestors); err != nil {
			return err
		}
	}
	return nil
}

func (c *collector) readFile(path string, info fs.FileInfo) error {
	f, err := os.Open(path)
	if err != nil {
		return pathError(path, err)
	}
	defer f.Close()
	// Read at most one byte past the limit: a file that grew since Stat is
	// still refused rather than read without bound.
	data, err := io.ReadAll(io.LimitReader(f, c.o.MaxFileSize+1))
	if err != nil {
		return pathError(path, err)
	}
	if int64(len(data)) > c.o.MaxFileSize {
		c.skip(path, "over the limit of %d bytes", c.o.MaxFileSize)
		return nil
	}
	if i := bytes.IndexByte(data[:min(len(data), sniffLen)], 0); i >= 0 {
		c.skip(path, "binary (NUL byte at offset %d)", i)
		return nil
	}
	if !utf8.Valid(data) {
		c.skip(path, "not UTF-8 text (invalid byte at offset %d)", firstInvalid(data))
		return nil
	}
	kind := KindOf(path)
	chunks, err := Split(path, data, kind, c.o)
	if err != nil {
		return err
	}
	if len(chunks) == 0 {
		c.skip(path, "empty (nothing but whitespace)")
		return nil
	}
	c.files = append(c.files, File{Path: path, Kind: kind, Size: int64(len(data)), Chunks: chunks})
	return nil
}

func firstInvalid(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func identity(info fs.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}

// pathError says what is wrong with path in words a user can act on.
func pathError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: cannot be read (permission denied)", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}
