package viewer

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/rayos/engine/gpu"
)

// The frame travels as tiles of tileSize × tileSize RGBA texels, the
// compositor's own unit of damage (gpu.FrameUpdate). Each binary message
// is a delta: the tiles that changed since a version the client has (0:
// all of them, a keyframe):
//
//	offset size
//	0      4    magic "RFT1"
//	4      8    version this delta brings the client to (uint64, little-endian)
//	12     8    version it starts from (0: a keyframe)
//	20     2    width   22 2 height   24 2 tiles across   26 2 tiles down
//	28     2    tile size (16)        30 2 flags (bit 0: keyframe)
//	32     4    number of tiles that follow
//	36          per tile: index (uint32, row by row), kind (1 byte), then
//	            kind 0: one RGBA texel that fills the tile (4 bytes)
//	            kind 1: tileSize² RGBA texels, row by row (1024 bytes)
//
// Texels are bytes R, G, B, A: what canvas ImageData holds. A tile that is
// one colour — most of a desktop — costs 9 bytes instead of 1029.
const (
	tileSize     = gpu.TileSize
	tilePixels   = tileSize * tileSize
	frameHeader  = 36
	frameMagic   = "RFT1"
	tileSolid    = 0
	tileRaw      = 1
	flagKeyframe = 1
)

// frameBuf carries recomposed tiles from the tick to the hub: the tick
// copies each FrameUpdate's tiles into the buffer it holds, and hands the
// buffer over at most every FrameInterval. Pixels is tile-major (tile t's
// texels at t × tilePixels), so a tile recomposed twice is simply
// overwritten.
type frameBuf struct {
	width, height, tilesX, tilesY int
	pixels                        []uint32
	dirty                         []uint32 // tiles recomposed since the hand-off, each once
	mark                          []uint64 // bit per tile: in dirty
}

// add copies an update's tiles. A frame of another size starts afresh.
func (b *frameBuf) add(u *gpu.FrameUpdate) {
	if u.Width != b.width || u.Height != b.height {
		b.width, b.height, b.tilesX, b.tilesY = u.Width, u.Height, u.TilesX, u.TilesY
		n := u.TilesX * u.TilesY
		b.pixels = make([]uint32, n*tilePixels)
		b.mark = make([]uint64, (n+63)/64)
		b.dirty = b.dirty[:0]
	}
	for i, t := range u.Tiles {
		if int(t) >= b.tilesX*b.tilesY {
			continue
		}
		copy(b.pixels[int(t)*tilePixels:(int(t)+1)*tilePixels], u.Pixels[i*tilePixels:(i+1)*tilePixels])
		if b.mark[t/64]&(1<<(t%64)) == 0 {
			b.mark[t/64] |= 1 << (t % 64)
			b.dirty = append(b.dirty, t)
		}
	}
}

// clear forgets which tiles are dirty, keeping the buffers.
func (b *frameBuf) clear() {
	for _, t := range b.dirty {
		b.mark[t/64] &^= 1 << (t % 64)
	}
	b.dirty = b.dirty[:0]
}

// frameStore is the hub's copy of the frame, with the version at which
// each tile last changed. Client writers read it to build their deltas;
// the hub merges hand-offs into it.
type frameStore struct {
	mu                            sync.RWMutex
	width, height, tilesX, tilesY int
	pixels                        []uint32
	ver                           []uint64
	seq                           uint64
	// base is the first version of the current frame size (or world): a
	// client that has seen only older versions gets a keyframe.
	base uint64

	// The last delta encoded: clients that are in step share it.
	cmu        sync.Mutex
	cFrom, cTo uint64
	cData      []byte
}

// merge takes a hand-off's tiles, keeping only those whose pixels
// actually changed, and returns how many did.
func (f *frameStore) merge(b *frameBuf) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b.width != f.width || b.height != f.height {
		f.width, f.height, f.tilesX, f.tilesY = b.width, b.height, b.tilesX, b.tilesY
		f.pixels = make([]uint32, len(b.pixels))
		f.ver = make([]uint64, b.tilesX*b.tilesY)
		f.base = f.seq + 1
	}
	next, changed := f.seq+1, 0
	for _, t := range b.dirty {
		src := b.pixels[int(t)*tilePixels : (int(t)+1)*tilePixels]
		dst := f.pixels[int(t)*tilePixels : (int(t)+1)*tilePixels]
		if f.ver[t] != 0 && slices.Equal(src, dst) {
			continue // recomposed but unchanged: nothing to send
		}
		copy(dst, src)
		f.ver[t] = next
		changed++
	}
	if changed > 0 {
		f.seq = next
	}
	return changed
}

// reset makes every client's next delta a keyframe (a new world).
func (f *frameStore) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.base = f.seq + 1
	clear(f.ver)
}

// version is the frame's current version (0: no frame yet, or none of
// the current world).
func (f *frameStore) version() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.seq < f.base {
		return 0
	}
	return f.seq
}

// delta returns the message that brings a client from version since to
// the current one, and that version; nil when it is up to date.
func (f *frameStore) delta(since uint64) ([]byte, uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.seq == 0 || f.seq < f.base || since == f.seq {
		return nil, since
	}
	if since > f.seq || since < f.base {
		since = 0
	}
	f.cmu.Lock()
	defer f.cmu.Unlock()
	if f.cData != nil && f.cFrom == since && f.cTo == f.seq {
		return f.cData, f.seq
	}
	msg := f.encode(since)
	if msg == nil {
		return nil, since
	}
	f.cFrom, f.cTo, f.cData = since, f.seq, msg
	return msg, f.seq
}

// encode builds a delta message (under the read lock).
func (f *frameStore) encode(since uint64) []byte {
	n := 0
	for _, v := range f.ver {
		if v > since {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, frameHeader, frameHeader+n*9)
	copy(out, frameMagic)
	le := binary.LittleEndian
	le.PutUint64(out[4:], f.seq)
	le.PutUint64(out[12:], since)
	le.PutUint16(out[20:], uint16(f.width))
	le.PutUint16(out[22:], uint16(f.height))
	le.PutUint16(out[24:], uint16(f.tilesX))
	le.PutUint16(out[26:], uint16(f.tilesY))
	le.PutUint16(out[28:], tileSize)
	if since == 0 {
		le.PutUint16(out[30:], flagKeyframe)
	}
	le.PutUint32(out[32:], uint32(n))
	for t, v := range f.ver {
		if v <= since {
			continue
		}
		px := f.pixels[t*tilePixels : (t+1)*tilePixels]
		out = le.AppendUint32(out, uint32(t))
		if solid(px) {
			out = append(out, tileSolid)
			out = le.AppendUint32(out, px[0])
			continue
		}
		out = append(out, tileRaw)
		for _, p := range px {
			out = le.AppendUint32(out, p)
		}
	}
	return out
}

func solid(px []uint32) bool {
	for _, p := range px[1:] {
		if p != px[0] {
			return false
		}
	}
	return true
}

// DecodeFrame applies one binary frame message to frame (width × height
// RGBA texels, row by row), growing it on a keyframe of another size. It
// is what the page's app.js does, in Go, for tests and tools.
func DecodeFrame(msg []byte, frame []uint32) (out []uint32, width, height int, version uint64, err error) {
	if len(msg) < frameHeader || string(msg[:4]) != frameMagic {
		return frame, 0, 0, 0, errFrame("no RFT1 header")
	}
	le := binary.LittleEndian
	version = le.Uint64(msg[4:])
	width, height = int(le.Uint16(msg[20:])), int(le.Uint16(msg[22:]))
	tilesX := int(le.Uint16(msg[24:]))
	size := int(le.Uint16(msg[28:]))
	if size != tileSize {
		return frame, 0, 0, 0, errFrame("tile size is not 16")
	}
	if len(frame) != width*height {
		frame = make([]uint32, width*height)
	}
	n := int(le.Uint32(msg[32:]))
	p := msg[frameHeader:]
	var tile [tilePixels]uint32
	for range n {
		if len(p) < 5 {
			return frame, 0, 0, 0, errFrame("truncated tile")
		}
		t, kind := int(le.Uint32(p)), p[4]
		p = p[5:]
		switch kind {
		case tileSolid:
			if len(p) < 4 {
				return frame, 0, 0, 0, errFrame("truncated solid tile")
			}
			for i := range tile {
				tile[i] = le.Uint32(p)
			}
			p = p[4:]
		case tileRaw:
			if len(p) < 4*tilePixels {
				return frame, 0, 0, 0, errFrame("truncated raw tile")
			}
			for i := range tile {
				tile[i] = le.Uint32(p[4*i:])
			}
			p = p[4*tilePixels:]
		default:
			return frame, 0, 0, 0, errFrame("unknown tile kind")
		}
		x0, y0 := t%tilesX*tileSize, t/tilesX*tileSize
		for y := range tileSize {
			for x := range tileSize {
				if x0+x < width && y0+y < height {
					frame[(y0+y)*width+x0+x] = tile[y*tileSize+x]
				}
			}
		}
	}
	return frame, width, height, version, nil
}

type errFrame string

func (e errFrame) Error() string { return "viewer frame: " + string(e) }
