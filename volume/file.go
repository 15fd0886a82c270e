package volume

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rayos/engine/world/atomicfile"
)

// The file format (docs/volume.md "Persistence" has the table). All
// integers little-endian.
const (
	fileMagic   = "RAYOSVOL"
	endMagic    = "RVOL.END"
	fileVersion = 1
	flagGraph   = 1
	// headerMin: magic, version, flags, dim, slots, live, nextID, name length.
	headerMin  = 8 + 4 + 4 + 4 + 8 + 8 + 8 + 2
	trailerLen = 8 + 4 + 8 // total length, CRC32C, end magic
	// maxFileSize bounds what Open reads into memory.
	maxFileSize = 1 << 40
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileData is a decoded file.
type fileData struct {
	path     string
	size     int64
	modTime  time.Time
	embedder string
	dim      int
	items    []Item
	vecs     []float32
	dead     []bool
	nextID   uint64
	graph    *graph
}

// encoder writes little-endian values through a CRC and counts them.
type encoder struct {
	w   *bufio.Writer
	crc hash.Hash32
	n   int64
	b   [8]byte
}

func (e *encoder) raw(p []byte) {
	e.w.Write(p)
	e.crc.Write(p)
	e.n += int64(len(p))
}
func (e *encoder) u8(x uint8)   { e.b[0] = x; e.raw(e.b[:1]) }
func (e *encoder) u16(x uint16) { binary.LittleEndian.PutUint16(e.b[:], x); e.raw(e.b[:2]) }
func (e *encoder) u32(x uint32) { binary.LittleEndian.PutUint32(e.b[:], x); e.raw(e.b[:4]) }
func (e *encoder) u64(x uint64) { binary.LittleEndian.PutUint64(e.b[:], x); e.raw(e.b[:8]) }
func (e *encoder) str16(s string) {
	e.u16(uint16(len(s)))
	e.raw([]byte(s))
}

// encode writes the Volume (read lock held) to w.
func (v *Volume) encode(w io.Writer) error {
	e := &encoder{w: bufio.NewWriterSize(w, 1<<20), crc: crc32.New(castagnoli)}
	var flags uint32
	if v.graph != nil {
		flags |= flagGraph
	}
	e.raw([]byte(fileMagic))
	e.u32(fileVersion)
	e.u32(flags)
	e.u32(uint32(v.dim))
	e.u64(uint64(len(v.items)))
	e.u64(uint64(v.live()))
	e.u64(v.nextID)
	e.str16(v.emb.Name())
	vb := make([]byte, 4*v.dim)
	for s := range v.items {
		it := &v.items[s]
		e.u64(it.ID)
		if v.dead[s] {
			e.u8(1)
		} else {
			e.u8(0)
		}
		e.u32(uint32(len(it.Text)))
		e.raw([]byte(it.Text))
		e.u16(uint16(len(it.Meta)))
		for _, k := range sortedKeys(it.Meta) {
			e.str16(k)
			e.str16(it.Meta[k])
		}
		for i, x := range v.vecs[s*v.dim : (s+1)*v.dim] {
			binary.LittleEndian.PutUint32(vb[4*i:], math.Float32bits(x))
		}
		e.raw(vb)
	}
	if g := v.graph; g != nil {
		e.u16(uint16(g.m))
		e.u32(uint32(g.efC))
		e.u64(uint64(g.seed))
		e.u32(uint32(g.entry))
		e.u8(uint8(g.maxLevel))
		e.raw(g.levels)
		for s := range g.levels {
			ls := g.links(int32(s), 0)
			e.u8(uint8(len(ls)))
			for _, n := range ls {
				e.u32(uint32(n))
			}
			for l := 1; l <= int(g.levels[s]); l++ {
				ls := g.links(int32(s), l)
				e.u8(uint8(len(ls)))
				for _, n := range ls {
					e.u32(uint32(n))
				}
			}
		}
	}
	e.u64(uint64(e.n + trailerLen))
	sum := e.crc.Sum32()
	binary.LittleEndian.PutUint32(e.b[:], sum)
	e.w.Write(e.b[:4])
	e.w.Write([]byte(endMagic))
	return e.w.Flush()
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	// Sorted, so the same Volume always writes the same bytes.
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// readFile reads and checks a Volume file. Every error names the file and
// says what is wrong; a missing file gives an error that matches
// os.ErrNotExist.
func readFile(path string) (*fileData, error) {
	data, err := atomicfile.ReadRegular(path, maxFileSize)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	f, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("volume: %s: %w", path, err)
	}
	f.path, f.size, f.modTime = path, int64(len(data)), info.ModTime()
	return f, nil
}

// decoder reads little-endian values, remembering the first overrun.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.err = fmt.Errorf("%s at byte %d runs past the end of the data", what, d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8(what string) uint8 {
	if p := d.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if p := d.take(2, what); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if p := d.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if p := d.take(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) str16(what string) string { return string(d.take(int(d.u16(what)), what)) }

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format+" (at byte %d)", append(a, d.off)...)
	}
}

// decode checks the frame (magic, version, end marker, length, checksum)
// before reading anything, then every count and link against what the
// file can hold, so no input can make it panic or allocate more than the
// file's size allows.
func decode(b []byte) (*fileData, error) {
	if len(b) < len(fileMagic) || string(b[:len(fileMagic)]) != fileMagic {
		return nil, errors.New("not a Volume file (bad magic)")
	}
	if len(b) < headerMin+trailerLen {
		return nil, fmt.Errorf("truncated: %d bytes, shorter than a header", len(b))
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != fileVersion {
		return nil, fmt.Errorf("format version %d, this RayOS reads version %d", v, fileVersion)
	}
	if string(b[len(b)-len(endMagic):]) != endMagic {
		return nil, fmt.Errorf("truncated or not completely written: no end marker (%d bytes)", len(b))
	}
	body := b[:len(b)-trailerLen+8] // everything the CRC covers
	if n := binary.LittleEndian.Uint64(b[len(b)-trailerLen:]); n != uint64(len(b)) {
		return nil, fmt.Errorf("truncated: the file says %d bytes, it has %d", n, len(b))
	}
	want := binary.LittleEndian.Uint32(b[len(b)-12:])
	if got := crc32.Checksum(body, castagnoli); got != want {
		return nil, fmt.Errorf("checksum mismatch (CRC32C %08x, recorded %08x): the file is corrupt", got, want)
	}
	d := &decoder{b: b[:len(b)-trailerLen], off: 12}
	f := &fileData{}
	flags := d.u32("flags")
	dim := d.u32("dimension")
	slots := d.u64("slot count")
	live := d.u64("item count")
	f.nextID = d.u64("next ID")
	f.embedder = d.str16("embedder name")
	switch {
	case flags&^flagGraph != 0:
		d.fail("unknown flags %#x", flags)
	case dim < 1 || dim > maxDim:
		d.fail("dimension %d out of range 1..%d", dim, maxDim)
	case f.embedder == "":
		d.fail("no embedder name")
	}
	// Each slot takes at least 15 bytes plus its vector: a count larger
	// than the file allows is corruption, found before allocating.
	if d.err == nil && slots > uint64(len(d.b)-d.off)/(15+4*uint64(dim)) {
		d.fail("%d items cannot fit in %d bytes", slots, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	f.dim = int(dim)
	n := int(slots)
	f.items = make([]Item, n)
	f.vecs = make([]float32, n*f.dim)
	f.dead = make([]bool, n)
	var nlive uint64
	var lastID uint64
	for s := 0; s < n && d.err == nil; s++ {
		id := d.u64("item ID")
		if id <= lastID || id >= f.nextID {
			d.fail("item %d: ID %d out of order or not below the next ID %d", s, id, f.nextID)
		}
		lastID = id
		switch d.u8("item state") {
		case 0:
			nlive++
		case 1:
			f.dead[s] = true
		default:
			d.fail("item %d: bad state byte", s)
		}
		text := d.take(int(d.u32("text length")), "text")
		if len(text) > maxText {
			d.fail("item %d: text of %d bytes over the limit", s, len(text))
		}
		it := Item{ID: id, Text: string(text)}
		if nm := int(d.u16("metadata count")); nm > 0 {
			if nm > maxMeta {
				d.fail("item %d: %d metadata keys over the limit", s, nm)
			}
			it.Meta = make(map[string]string, min(nm, 16))
			prev := ""
			for j := 0; j < nm && d.err == nil; j++ {
				k := d.str16("metadata key")
				// Keys are written sorted; out of order or repeated is
				// corruption (and would not write back the same).
				if j > 0 && k <= prev {
					d.fail("item %d: metadata key %q out of order", s, k)
				}
				prev = k
				it.Meta[k] = d.str16("metadata value")
			}
		}
		vb := d.take(4*f.dim, "vector")
		if vb != nil {
			vec := f.vecs[s*f.dim : (s+1)*f.dim]
			for i := range vec {
				x := math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:]))
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					d.fail("item %d: vector holds NaN or Inf", s)
				}
				vec[i] = x
			}
		}
		f.items[s] = it
	}
	if d.err == nil && nlive != live {
		d.fail("header says %d items, found %d", live, nlive)
	}
	if d.err == nil && flags&flagGraph != 0 {
		f.graph = decodeGraph(d, n)
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d unexpected bytes after the data", len(d.b)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return f, nil
}

func decodeGraph(d *decoder, n int) *graph {
	m := int(d.u16("graph M"))
	efC := int(d.u32("graph efConstruction"))
	seed := int64(d.u64("graph seed"))
	entry := int32(d.u32("graph entry point"))
	maxLevel := int(d.u8("graph top layer"))
	switch {
	case m < 2 || m > 127:
		d.fail("graph M %d out of range 2..127", m)
	case efC < 1 || efC > 1<<16:
		d.fail("graph efConstruction %d out of range", efC)
	case maxLevel > topLevel:
		d.fail("graph top layer %d over %d", maxLevel, topLevel)
	case n == 0 && entry != -1, n > 0 && (entry < 0 || int(entry) >= n):
		d.fail("graph entry point %d not a node of %d", entry, n)
	}
	levels := d.take(n, "graph layers")
	if d.err != nil {
		return nil
	}
	g := newGraph(m, efC, seed)
	g.entry, g.maxLevel = entry, maxLevel
	if n > 0 && int(levels[entry]) != maxLevel {
		d.fail("graph entry point %d is on layer %d, not the top layer %d", entry, levels[entry], maxLevel)
	}
	for s := 0; s < n; s++ {
		if int(levels[s]) > maxLevel {
			d.fail("graph node %d on layer %d above the top layer %d", s, levels[s], maxLevel)
			return nil
		}
	}
	g.levels = append([]uint8(nil), levels...)
	g.l0 = make([]int32, n*g.m0)
	g.l0n = make([]uint8, n)
	g.upper = make([][][]int32, n)
	buf := make([]int32, 0, g.m0)
	for s := 0; s < n && d.err == nil; s++ {
		lv := int(g.levels[s])
		if lv > 0 {
			g.upper[s] = make([][]int32, lv)
		}
		for l := 0; l <= lv && d.err == nil; l++ {
			c := int(d.u8("graph link count"))
			if c > g.maxLinks(l) {
				d.fail("graph node %d layer %d: %d links over the limit %d", s, l, c, g.maxLinks(l))
				break
			}
			buf = buf[:0]
			for j := 0; j < c && d.err == nil; j++ {
				t := d.u32("graph link")
				// A link must point at a node that exists on this layer,
				// or a search would index a list that is not there.
				if int64(t) >= int64(n) || int(g.levels[t]) < l {
					d.fail("graph node %d layer %d: link to %d, not a node on that layer", s, l, t)
					break
				}
				buf = append(buf, int32(t))
			}
			if l > 0 {
				g.upper[s][l-1] = make([]int32, 0, g.m)
			}
			g.setLinks(int32(s), l, buf)
		}
	}
	return g
}

// lockName is the file Save holds (flock) while it writes, so that two
// processes saving the same folder take turns.
const lockName = ".volume.lock"

// Save writes the Volume to dir/volume.rvol crash-safely: the file that
// was there, when it is known good, first becomes volume.rvol.prev (a hard
// link renamed into place, so at every instant both names hold a complete
// file); then the new content is written to a temporary file, fsynced,
// renamed over volume.rvol and the folder fsynced (world/atomicfile). A
// crash at any point leaves volume.rvol either the old or the new file.
// A damaged volume.rvol (see RecoveryError) is renamed to
// volume.rvol.corrupt instead of becoming the copy. Queries carry on
// during a Save; writes wait.
func (v *Volume) Save() error {
	v.saveMu.Lock()
	defer v.saveMu.Unlock()
	v.mu.RLock()
	closed := v.closed
	v.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := os.MkdirAll(v.dir, 0o755); err != nil {
		return fmt.Errorf("volume: save: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(v.dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("volume: save: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("volume: save: lock %s: %w", lock.Name(), err)
	}
	// Temporary files of writers killed mid-save; the lock keeps live
	// writers of this folder out.
	removeStaleTemps(v.dir)
	path := filepath.Join(v.dir, FileName)
	if err := v.keepPrevious(path); err != nil {
		return fmt.Errorf("volume: save: %w", err)
	}
	var size int64
	v.mu.RLock()
	err = atomicfile.Write(path, 0o644, func(w io.Writer) error {
		cw := &countingWriter{w: w}
		err := v.encode(cw)
		size = cw.n
		return err
	})
	v.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("volume: save %s: %w", path, err)
	}
	v.mu.Lock()
	v.fileSize, v.lastSave = size, time.Now()
	v.mu.Unlock()
	v.diskGood = true
	return nil
}

// keepPrevious turns the current volume.rvol into volume.rvol.prev when it
// is good, or moves it aside to volume.rvol.corrupt when it is not.
func (v *Volume) keepPrevious(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	good := v.diskGood
	if !good {
		// Not the file this Volume loaded: keep it as the copy only if
		// it reads back whole (another writer's save, say).
		_, err := readFile(path)
		good = err == nil
	}
	dirSync := func() {
		if d, err := os.Open(v.dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	if !good {
		if err := os.Rename(path, path+".corrupt"); err != nil {
			return err
		}
		dirSync()
		return nil
	}
	tmp := filepath.Join(v.dir, atomicfile.TempPrefix+FileName+"-prev")
	os.Remove(tmp)
	if err := os.Link(path, tmp); err != nil {
		// No hard links here: copy instead (slower, as safe).
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return rerr
		}
		return atomicfile.WriteBytes(path+PrevSuffix, data, 0o644)
	}
	if err := os.Rename(tmp, path+PrevSuffix); err != nil {
		os.Remove(tmp)
		return err
	}
	dirSync()
	return nil
}

func removeStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix+FileName) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
