package display

import (
	"encoding/binary"
	"fmt"
	"image"
)

// Filters: how a screen pixel is made from the frame's.
const (
	// FilterNearest takes the frame pixel under the screen pixel's
	// centre: exact colours, chosen whenever the scale is at least 1/2.
	FilterNearest = "nearest"
	// FilterBox averages the frame pixels a screen pixel covers,
	// weighted by area: chosen below 1/2, where nearest would skip whole
	// frame pixels.
	FilterBox = "box"
)

// fit is how the frame lands on the screen: its size, the screen
// rectangle it is scaled into, and the per-axis sampling tables.
type fit struct {
	srcW, srcH int
	// rect is the frame's rectangle in visible screen coordinates;
	// outside it the screen is black.
	rect   image.Rectangle
	filter string
	xs, ys axis
}

// axis maps the output pixels of one axis to the source pixels they are
// made of: output pixel o is the sum over j < n[o] of source pixel
// first[o]+j weighted by w[o*k+j] (the weights of a pixel sum to 256).
type axis struct {
	k     int
	first []int32
	n     []uint8
	w     []uint16
}

// newAxis builds the table for src source pixels shown as dst output
// pixels. Nearest: one tap, the pixel under the output pixel's centre.
// Box: output pixel o covers source [o·src/dst, (o+1)·src/dst), each
// source pixel weighted by the length it overlaps, in exact integer
// units of 1/dst source pixel.
func newAxis(src, dst int, nearest bool) axis {
	a := axis{k: 1, first: make([]int32, dst), n: make([]uint8, dst)}
	if nearest {
		a.w = make([]uint16, dst)
		for o := range dst {
			a.first[o], a.n[o], a.w[o] = int32((2*o+1)*src/(2*dst)), 1, 256
		}
		return a
	}
	a.k = (src+dst-1)/dst + 1
	a.w = make([]uint16, dst*a.k)
	for o := range dst {
		lo, hi := o*src, (o+1)*src // in units of 1/dst source pixel
		i0, i1 := lo/dst, (hi+dst-1)/dst
		a.first[o], a.n[o] = int32(i0), uint8(i1-i0)
		// Cumulative rounding: the weights sum to exactly 256.
		cum, prev := 0, 0
		for i := i0; i < i1; i++ {
			cum += min((i+1)*dst, hi) - max(i*dst, lo)
			next := (cum*256 + src/2) / src
			a.w[o*a.k+i-i0] = uint16(next - prev)
			prev = next
		}
	}
	return a
}

// SetSource fits a width × height frame to the screen: scaled by the
// largest factor that fits, aspect kept, centred, and clears the whole
// screen to black (the bars stay so; the frame's area waits for Draw).
func (fb *Framebuffer) SetSource(width, height int) error {
	if fb.mem == nil {
		return fmt.Errorf("framebuffer %s: closed", fb.dev)
	}
	if width <= 0 || height <= 0 {
		return fmt.Errorf("framebuffer %s: empty frame %dx%d", fb.dev, width, height)
	}
	W, H := fb.geo.Width, fb.geo.Height
	w, h := W, H
	if W*height <= H*width { // the width limits: bars above and below
		h = max(1, (2*height*W+width)/(2*width))
	} else {
		w = max(1, (2*width*H+height)/(2*height))
	}
	x0, y0 := (W-w)/2, (H-h)/2
	// Nearest keeps colours exact; it is safe for a 2-pixel line (a
	// window's trust border) as long as screen pixels are at most 2 frame
	// pixels apart, i.e. scale ≥ 1/2. Below, box.
	nearest := 2*w >= width && 2*h >= height
	f := fit{srcW: width, srcH: height, rect: image.Rect(x0, y0, x0+w, y0+h), filter: FilterBox}
	if nearest {
		f.filter = FilterNearest
	}
	f.xs, f.ys = newAxis(width, w, nearest), newAxis(height, h, nearest)
	fb.fit, fb.fitted = f, true
	fb.row = make([]byte, W*fb.geo.BitsPerPixel/8)
	fb.fill(image.Rect(0, 0, W, H), 0)
	return nil
}

// Scale is the factor the frame is scaled by (screen pixels per frame
// pixel, horizontally), 0 before SetSource.
func (fb *Framebuffer) Scale() float64 {
	if !fb.fitted {
		return 0
	}
	return float64(fb.fit.rect.Dx()) / float64(fb.fit.srcW)
}

// Filter is the filter SetSource chose: FilterNearest or FilterBox.
func (fb *Framebuffer) Filter() string { return fb.fit.filter }

// FrameRect is the screen rectangle the frame is drawn in.
func (fb *Framebuffer) FrameRect() image.Rectangle { return fb.fit.rect }

// ScreenRect is the screen rectangle whose pixels depend on the frame's
// rectangle r: r is scaled, rounded outward, and clipped to the frame.
func (fb *Framebuffer) ScreenRect(r image.Rectangle) image.Rectangle {
	f := &fb.fit
	r = r.Intersect(image.Rect(0, 0, f.srcW, f.srcH))
	if r.Empty() {
		return image.Rectangle{}
	}
	w, h := f.rect.Dx(), f.rect.Dy()
	// Screen pixel o depends on frame pixels [o·src/dst, (o+1)·src/dst)
	// (box) or on the one under its centre (nearest, inside that span):
	// those meeting [r.Min, r.Max) are floor(r.Min·dst/src) up to
	// ceil(r.Max·dst/src).
	out := image.Rect(r.Min.X*w/f.srcW, r.Min.Y*h/f.srcH, (r.Max.X*w+f.srcW-1)/f.srcW, (r.Max.Y*h+f.srcH-1)/f.srcH)
	return out.Add(f.rect.Min).Intersect(f.rect)
}

// FramePoint is the frame pixel shown at screen pixel p (the one nearest
// filtering samples), for an absolute pointer on the screen; false when p
// is on a bar, with the nearest frame pixel at the frame's edge.
func (fb *Framebuffer) FramePoint(p image.Point) (image.Point, bool) {
	f := &fb.fit
	if !fb.fitted {
		return image.Point{}, false
	}
	in := p.In(f.rect)
	o := p.Sub(f.rect.Min)
	o.X, o.Y = min(max(o.X, 0), f.rect.Dx()-1), min(max(o.Y, 0), f.rect.Dy()-1)
	return image.Pt((2*o.X+1)*f.srcW/(2*f.rect.Dx()), (2*o.Y+1)*f.srcH/(2*f.rect.Dy())), in
}

// Draw redraws the screen rectangles that the frame's rectangles damage
// map to (ScreenRect), from frame: SetSource's width × height RGBA texels
// (bytes R, G, B, A in memory), row by row.
func (fb *Framebuffer) Draw(frame []uint32, damage ...image.Rectangle) error {
	if fb.mem == nil {
		return fmt.Errorf("framebuffer %s: closed", fb.dev)
	}
	if !fb.fitted {
		return fmt.Errorf("framebuffer %s: Draw before SetSource", fb.dev)
	}
	if len(frame) < fb.fit.srcW*fb.fit.srcH {
		return fmt.Errorf("framebuffer %s: frame of %d texels, want %dx%d", fb.dev, len(frame), fb.fit.srcW, fb.fit.srcH)
	}
	for _, r := range damage {
		fb.drawRect(frame, fb.ScreenRect(r))
	}
	return nil
}

// DrawAll redraws the whole frame.
func (fb *Framebuffer) DrawAll(frame []uint32) error {
	return fb.Draw(frame, image.Rect(0, 0, fb.fit.srcW, fb.fit.srcH))
}

// drawRect draws the screen rectangle s (inside the frame's rectangle),
// a line at a time: each line is made in fb.row and copied into the
// device memory in one go (framebuffer memory is often write-combined:
// sequential stores are what it is fast at).
func (fb *Framebuffer) drawRect(frame []uint32, s image.Rectangle) {
	f := &fb.fit
	enc := fb.encoder()
	bpp := fb.geo.BitsPerPixel / 8
	row := fb.row[:s.Dx()*bpp]
	xs, ys := &f.xs, &f.ys
	ox0, ox1 := s.Min.X-f.rect.Min.X, s.Max.X-f.rect.Min.X
	for y := s.Min.Y; y < s.Max.Y; y++ {
		oy := y - f.rect.Min.Y
		p := row
		if f.filter == FilterNearest {
			line := frame[int(ys.first[oy])*f.srcW:]
			for _, sx := range xs.first[ox0:ox1] {
				t := line[sx]
				enc.put(p, t&0xff, t>>8&0xff, t>>16&0xff)
				p = p[bpp:]
			}
		} else {
			for ox := ox0; ox < ox1; ox++ {
				r, g, b := f.box(frame, ox, oy)
				enc.put(p, r, g, b)
				p = p[bpp:]
			}
		}
		off := (fb.geo.YOffset+y)*fb.geo.Stride + (fb.geo.XOffset+s.Min.X)*bpp
		copy(fb.mem[off:off+len(row)], row)
	}
}

// box is output pixel (ox, oy)'s area-weighted average, per channel.
func (f *fit) box(frame []uint32, ox, oy int) (r, g, b uint32) {
	xs, ys := &f.xs, &f.ys
	x0, nx, wx := int(xs.first[ox]), int(xs.n[ox]), xs.w[ox*xs.k:]
	y0, ny, wy := int(ys.first[oy]), int(ys.n[oy]), ys.w[oy*ys.k:]
	for j := range ny {
		line := frame[(y0+j)*f.srcW+x0:]
		for i := range nx {
			w := uint32(wy[j]) * uint32(wx[i]) // the weights of a pixel sum to 65536
			t := line[i]
			r += w * (t & 0xff)
			g += w * (t >> 8 & 0xff)
			b += w * (t >> 16 & 0xff)
		}
	}
	return (r + 1<<15) >> 16, (g + 1<<15) >> 16, (b + 1<<15) >> 16
}

// fill paints the screen rectangle s (visible coordinates) one colour
// (0xBBGGRR, as a texel).
func (fb *Framebuffer) fill(s image.Rectangle, rgb uint32) {
	enc := fb.encoder()
	bpp := fb.geo.BitsPerPixel / 8
	row := fb.row[:s.Dx()*bpp]
	for x := range s.Dx() {
		enc.put(row[x*bpp:], rgb&0xff, rgb>>8&0xff, rgb>>16&0xff)
	}
	for y := s.Min.Y; y < s.Max.Y; y++ {
		off := (fb.geo.YOffset+y)*fb.geo.Stride + (fb.geo.XOffset+s.Min.X)*bpp
		copy(fb.mem[off:off+len(row)], row)
	}
}

// encoder packs 8-bit channels into the mode's pixels.
type encoder struct {
	bytes                  int
	rs, gs, bs, ro, gO, bo uint32 // right shift to the channel's width, then its offset
	alpha                  uint32 // the alpha channel, opaque
}

func (fb *Framebuffer) encoder() encoder {
	g := &fb.geo
	return encoder{
		bytes: g.BitsPerPixel / 8,
		rs:    uint32(8 - g.Red.Length), gs: uint32(8 - g.Green.Length), bs: uint32(8 - g.Blue.Length),
		ro: uint32(g.Red.Offset), gO: uint32(g.Green.Offset), bo: uint32(g.Blue.Offset),
		alpha: (1<<g.Alpha.Length - 1) << g.Alpha.Offset,
	}
}

// put writes one pixel at p, little-endian (as fbdev lays pixels out on
// x86-64 and arm64).
func (e *encoder) put(p []byte, r, g, b uint32) {
	v := r>>e.rs<<e.ro | g>>e.gs<<e.gO | b>>e.bs<<e.bo | e.alpha
	switch e.bytes {
	case 4:
		binary.LittleEndian.PutUint32(p, v)
	case 3:
		p[0], p[1], p[2] = byte(v), byte(v>>8), byte(v>>16)
	default:
		binary.LittleEndian.PutUint16(p, uint16(v))
	}
}
