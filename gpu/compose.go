package gpu

import (
	"math/bits"

	"github.com/rayos/engine/components"
)

// The compositor works on TileSize × TileSize screen tiles. Each
// composition recomposes only the damaged tiles; for each of them the CPU
// lists, bottom to top, the surfaces over it (BinTiles), so that a pixel
// looks at the few surfaces over its tile, not at all of them — and at
// none below the topmost surface that covers the whole tile opaquely. The
// kernel (compose.comp) and its twin (ComposeTiles) run this same
// algorithm; ComposeReference is the brute force they are tested against.

// ComposeParams is the params buffer of the compose kernel.
type ComposeParams struct {
	Width, Height uint32
	// TilesX is how many tiles make a row of the frame.
	TilesX uint32
	// TileCount is how many damaged tiles this run recomposes (entries of
	// the tile list).
	TileCount uint32
	// Background is the RGBA8 colour under everything.
	Background uint32
	// Tap, when nonzero, also writes each recomposed tile's pixels into
	// the tap buffer (TileSize² texels per tile, in tile-list order), for
	// consumers that read back only what changed.
	Tap uint32
	Pad [2]uint32
}

// Texture says where a surface's texels are in the atlas. Flags holds
// TextureOpaque.
type Texture struct {
	Offset, Width, Height, Flags uint32
}

// TextureOpaque marks a texture whose every texel has alpha 255.
const TextureOpaque uint32 = 1

// Decor is how the compositor decorates a surface (std430, 32 bytes): a
// border and a title bar drawn by the compositor itself, around the
// surface's content, so that what is inside cannot draw over them or
// imitate them — a guest's content is clipped to the inside and scaled
// into it. Border 0 leaves the surface undecorated: its texture fills its
// Rect.
type Decor struct {
	// Frame is the colour of the border and of the title bar behind its
	// text: a guest's trust colour.
	Frame uint32
	// Highlight, when nonzero, is the colour of the outermost line of the
	// border: the focused surface.
	Highlight uint32
	// TitleHeight is the title bar's height under the top border;
	// TitleOffset, TitleWidth and TitleRows place its texels (rendered by
	// the CPU, drawn 1:1 from the bar's top-left corner, alpha forced to
	// 255) in the atlas. Where the bar has no texel, it shows Frame.
	TitleOffset, TitleWidth, TitleHeight uint32
	// Border is the border's width in pixels; 0: undecorated.
	Border uint32
	// Flags holds DecorOpaqueContent.
	Flags     uint32
	TitleRows uint32
}

// DecorOpaqueContent forces the content's alpha to 255: a guest cannot
// show what lies under its window (or leave it to blend into a forgery).
const DecorOpaqueContent uint32 = 1

// NoSignal (RGBA 8, 8, 10, 255) is what a decorated surface shows inside while it has no
// texture (a guest whose display has not arrived yet).
const NoSignal uint32 = 0xff0a0808

// SurfaceTexel is the colour surface s (with its texture and decoration)
// puts at frame pixel (x, y), and whether it covers that pixel at all.
func SurfaceTexel(s *components.Surface, tex Texture, d Decor, texels []uint32, x, y int32) (uint32, bool) {
	r := s.Rect
	if x < r.X || y < r.Y || x >= r.X+r.W || y >= r.Y+r.H {
		return 0, false
	}
	cx, cy, cw, ch := r.X, r.Y, r.W, r.H
	if b := int32(d.Border); b > 0 {
		lx, ly := x-r.X, y-r.Y
		if d.Highlight != 0 && (lx == 0 || ly == 0 || lx == r.W-1 || ly == r.H-1) {
			return d.Highlight | 0xff000000, true
		}
		if lx < b || ly < b || lx >= r.W-b || ly >= r.H-b {
			return d.Frame | 0xff000000, true
		}
		th := int32(d.TitleHeight)
		if ly < b+th {
			if tx, ty := lx-b, ly-b; tx < int32(d.TitleWidth) && ty < int32(d.TitleRows) {
				return texels[int32(d.TitleOffset)+ty*int32(d.TitleWidth)+tx] | 0xff000000, true
			}
			return d.Frame | 0xff000000, true
		}
		cx, cy, cw, ch = r.X+b, r.Y+b+th, r.W-2*b, r.H-2*b-th
		if tex.Width == 0 || tex.Height == 0 {
			return NoSignal, true
		}
	} else if tex.Width == 0 || tex.Height == 0 {
		return 0, false
	}
	tx := uint32(x-cx) * tex.Width / uint32(cw)
	ty := uint32(y-cy) * tex.Height / uint32(ch)
	c := texels[tex.Offset+ty*tex.Width+tx]
	if d.Flags&DecorOpaqueContent != 0 {
		c |= 0xff000000
	}
	return c, true
}

// drawn says whether a surface puts anything on screen: a decorated one
// always, an undecorated one only with a texture.
func drawn(tex Texture, d Decor) bool {
	return d.Border > 0 || tex.Width > 0 && tex.Height > 0
}

// opaque says whether every pixel a surface covers comes out with alpha
// 255: decorated with opaque content (the frame and title are always
// opaque), or undecorated with an opaque texture.
func opaque(tex Texture, d Decor) bool {
	if d.Border > 0 {
		return d.Flags&DecorOpaqueContent != 0 || tex.Width == 0 || tex.Height == 0 || tex.Flags&TextureOpaque != 0
	}
	return tex.Flags&TextureOpaque != 0
}

// Bins is the compositor's per-run work list: the damaged tiles and, for
// each, the surfaces to blend over it, bottom to top.
type Bins struct {
	// Tiles are the damaged tiles' indices, ascending.
	Tiles []uint32
	// Start[k] is where tile k's surfaces begin in Slots; Start has one
	// entry more than Tiles, the end of the last.
	Start []uint32
	// Slots are surface slots, tile by tile, bottom to top.
	Slots []uint32
	// cut and count are scratch, per tile of the frame.
	cut, count []int32
}

// BinTiles lists, for every damaged tile (damage is a bitset over the
// frame's tiles, row by row), the surfaces of order (bottom to top) that
// cover part of it, starting from the topmost one that covers all of it
// opaquely: what is under that one cannot show. It reuses b's storage.
func BinTiles(b *Bins, width, height int, damage []uint64, surfaces []components.Surface, order []uint32, textures []Texture, decor []Decor) {
	tilesX, tilesY := TilesFor(width, height)
	n := tilesX * tilesY
	b.Tiles = b.Tiles[:0]
	for word, set := range damage {
		for ; set != 0; set &= set - 1 {
			if t := word*64 + bits.TrailingZeros64(set); t < n {
				b.Tiles = append(b.Tiles, uint32(t))
			}
		}
	}
	b.cut = resize(b.cut, n)
	b.count = resize(b.count, n)
	for _, t := range b.Tiles {
		b.cut[t], b.count[t] = 0, 0
	}
	// tileSpan is the range of tiles a surface touches, and which of them
	// it covers whole (clipped to the frame).
	span := func(r components.Rect) (x0, y0, x1, y1 int, ok bool) {
		rx0, ry0 := max(int(r.X), 0), max(int(r.Y), 0)
		rx1, ry1 := min(int(r.X)+int(r.W), width), min(int(r.Y)+int(r.H), height)
		if rx0 >= rx1 || ry0 >= ry1 {
			return 0, 0, 0, 0, false
		}
		return rx0 / TileSize, ry0 / TileSize, (rx1-1)/TileSize + 1, (ry1-1)/TileSize + 1, true
	}
	covers := func(r components.Rect, tx, ty int) bool {
		x0, y0 := tx*TileSize, ty*TileSize
		x1, y1 := min(x0+TileSize, width), min(y0+TileSize, height)
		return int(r.X) <= x0 && int(r.Y) <= y0 && int(r.X)+int(r.W) >= x1 && int(r.Y)+int(r.H) >= y1
	}
	// First pass: the topmost opaque cover of each damaged tile (the order
	// index + 1; 0 = none, draw from the bottom).
	for i, slot := range order {
		s := &surfaces[slot]
		tex, d := textures[slot], decor[slot]
		if !drawn(tex, d) || !opaque(tex, d) {
			continue
		}
		x0, y0, x1, y1, ok := span(s.Rect)
		if !ok {
			continue
		}
		for ty := y0; ty < y1; ty++ {
			for tx := x0; tx < x1; tx++ {
				if t := ty*tilesX + tx; damaged(damage, t) && covers(s.Rect, tx, ty) {
					b.cut[t] = int32(i + 1)
				}
			}
		}
	}
	// Second pass: count what each damaged tile draws; third: fill.
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			b.Start = resize(b.Start, len(b.Tiles)+1)
			total := uint32(0)
			for k, t := range b.Tiles {
				b.Start[k] = total
				total += uint32(b.count[t])
				b.count[t] = int32(b.Start[k]) // now the fill position
			}
			b.Start[len(b.Tiles)] = total
			b.Slots = resize(b.Slots, int(total))
		}
		for i, slot := range order {
			s := &surfaces[slot]
			if !drawn(textures[slot], decor[slot]) {
				continue
			}
			x0, y0, x1, y1, ok := span(s.Rect)
			if !ok {
				continue
			}
			for ty := y0; ty < y1; ty++ {
				for tx := x0; tx < x1; tx++ {
					t := ty*tilesX + tx
					if !damaged(damage, t) || int32(i+1) < b.cut[t] {
						continue
					}
					if pass == 0 {
						b.count[t]++
					} else {
						b.Slots[b.count[t]] = slot
						b.count[t]++
					}
				}
			}
		}
	}
}

// BinAll is the brute force the binning is measured against: every
// damaged tile lists every drawn surface of order, none cut.
func BinAll(b *Bins, width, height int, damage []uint64, order []uint32, textures []Texture, decor []Decor) {
	tilesX, tilesY := TilesFor(width, height)
	b.Tiles, b.Start, b.Slots = b.Tiles[:0], b.Start[:0], b.Slots[:0]
	for t := range tilesX * tilesY {
		if !damaged(damage, t) {
			continue
		}
		b.Tiles = append(b.Tiles, uint32(t))
		b.Start = append(b.Start, uint32(len(b.Slots)))
		for _, slot := range order {
			if drawn(textures[slot], decor[slot]) {
				b.Slots = append(b.Slots, slot)
			}
		}
	}
	b.Start = append(b.Start, uint32(len(b.Slots)))
}

func damaged(damage []uint64, t int) bool {
	return t/64 < len(damage) && damage[t/64]&(1<<(t%64)) != 0
}

// ComposeTiles is the twin of compose.comp: each tile of bins.Tiles
// [lo, hi) is the background with its listed surfaces blended over it in
// order, pixel by pixel; with p.Tap, the tile's pixels are also written to
// tap (TileSize² per tile, in list order; 0 outside the frame).
func ComposeTiles(p ComposeParams, surfaces []components.Surface, textures []Texture, decor []Decor, texels []uint32,
	tiles, start, slots []uint32, frame, tap []uint32, lo, hi int) {
	width, height := int32(p.Width), int32(p.Height)
	for k := lo; k < hi; k++ {
		t := int32(tiles[k])
		x0, y0 := t%int32(p.TilesX)*TileSize, t/int32(p.TilesX)*TileSize
		list := slots[start[k]:start[k+1]]
		for py := int32(0); py < TileSize; py++ {
			y := y0 + py
			for px := int32(0); px < TileSize; px++ {
				x := x0 + px
				if x >= width || y >= height {
					if p.Tap != 0 {
						tap[k*TileSize*TileSize+int(py*TileSize+px)] = 0
					}
					continue
				}
				c := p.Background
				for _, slot := range list {
					if src, ok := SurfaceTexel(&surfaces[slot], textures[slot], decor[slot], texels, x, y); ok {
						c = Blend(src, c)
					}
				}
				frame[y*width+x] = c
				if p.Tap != 0 {
					tap[k*TileSize*TileSize+int(py*TileSize+px)] = c
				}
			}
		}
	}
}

// ComposeReference is the brute force the binned compositor must equal:
// every pixel of frame is the background with every surface of order
// blended over it, bottom to top.
func ComposeReference(width, height int, background uint32, surfaces []components.Surface, order []uint32, textures []Texture, decor []Decor, texels []uint32, frame []uint32) {
	for y := range int32(height) {
		for x := range int32(width) {
			c := background
			for _, slot := range order {
				if src, ok := SurfaceTexel(&surfaces[slot], textures[slot], decor[slot], texels, x, y); ok {
					c = Blend(src, c)
				}
			}
			frame[y*int32(width)+x] = c
		}
	}
}

// DamageRect marks in damage (a bitset over the frame's tiles, row by
// row) every tile that r (frame pixels) touches, clipped to the frame.
func DamageRect(damage []uint64, width, height int, r components.Rect) {
	x0, y0 := max(int(r.X), 0), max(int(r.Y), 0)
	x1, y1 := min(int(r.X)+int(r.W), width), min(int(r.Y)+int(r.H), height)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	tilesX, _ := TilesFor(width, height)
	for ty := y0 / TileSize; ty <= (y1-1)/TileSize; ty++ {
		for tx := x0 / TileSize; tx <= (x1-1)/TileSize; tx++ {
			t := ty*tilesX + tx
			damage[t/64] |= 1 << (t % 64)
		}
	}
}
