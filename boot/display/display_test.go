package display_test

import (
	"bytes"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/boot/display"
)

// Modes the tests draw into: efifb's usual BGRX, its RGB order, a 32 bpp
// mode with alpha, 24 bpp BGR and 16 bpp RGB565.
var (
	bgrx   = display.Geometry{BitsPerPixel: 32, Red: display.Channel{Offset: 16, Length: 8}, Green: display.Channel{Offset: 8, Length: 8}, Blue: display.Channel{Length: 8}}
	rgbx   = display.Geometry{BitsPerPixel: 32, Red: display.Channel{Length: 8}, Green: display.Channel{Offset: 8, Length: 8}, Blue: display.Channel{Offset: 16, Length: 8}}
	bgra   = display.Geometry{BitsPerPixel: 32, Red: display.Channel{Offset: 16, Length: 8}, Green: display.Channel{Offset: 8, Length: 8}, Blue: display.Channel{Length: 8}, Alpha: display.Channel{Offset: 24, Length: 8}}
	bgr24  = display.Geometry{BitsPerPixel: 24, Red: display.Channel{Offset: 16, Length: 8}, Green: display.Channel{Offset: 8, Length: 8}, Blue: display.Channel{Length: 8}}
	rgb565 = display.Geometry{BitsPerPixel: 16, Red: display.Channel{Offset: 11, Length: 5}, Green: display.Channel{Offset: 5, Length: 6}, Blue: display.Channel{Length: 5}}
)

// mode is format at width × height, lines packed unless stride is given.
func mode(format display.Geometry, width, height int) display.Geometry {
	g := format
	g.Width, g.Height, g.Stride = width, height, width*format.BitsPerPixel/8
	return g
}

// fakeFB maps a zeroed file of g.Memory bytes (0: just what g needs) as a
// framebuffer, and returns it with the file, to read what was drawn.
func fakeFB(t testing.TB, g display.Geometry) (*display.Framebuffer, *os.File) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "fb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	size := g.Memory
	if size == 0 {
		size = (g.YOffset+g.Height)*g.Stride + 64 // a little slack, as smem usually has
	}
	if err := f.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	fb, err := display.OpenFile(f, g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fb.Close() })
	return fb, f
}

// contents is what the file holds now: what went through the mapping.
func contents(t testing.TB, f *os.File) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rgba(r, g, b uint8) uint32 { return uint32(r) | uint32(g)<<8 | uint32(b)<<16 | 0xff<<24 }

// Each format gets exactly its bits, at the right place in the buffer
// (a stride wider than the line, a panned origin), with the channels
// truncated to their widths and alpha opaque.
func TestPixelFormats(t *testing.T) {
	frame := []uint32{rgba(0x12, 0x34, 0x56), rgba(0xff, 0x00, 0x80), rgba(0x01, 0xfe, 0x7f), rgba(0xff, 0xff, 0xff)}
	for _, c := range []struct {
		name   string
		format display.Geometry
		want   func(r, g, b uint32) []byte
	}{
		{"bgrx", bgrx, func(r, g, b uint32) []byte { return []byte{byte(b), byte(g), byte(r), 0} }},
		{"rgbx", rgbx, func(r, g, b uint32) []byte { return []byte{byte(r), byte(g), byte(b), 0} }},
		{"bgra", bgra, func(r, g, b uint32) []byte { return []byte{byte(b), byte(g), byte(r), 0xff} }},
		{"bgr24", bgr24, func(r, g, b uint32) []byte { return []byte{byte(b), byte(g), byte(r)} }},
		{"rgb565", rgb565, func(r, g, b uint32) []byte {
			v := r>>3<<11 | g>>2<<5 | b>>3
			return []byte{byte(v), byte(v >> 8)}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := mode(c.format, 2, 2)
			bpp := g.BitsPerPixel / 8
			g.XOffset, g.YOffset, g.Stride = 1, 1, 5*bpp
			fb, f := fakeFB(t, g)
			if err := fb.SetSource(2, 2); err != nil {
				t.Fatal(err)
			}
			if fb.Scale() != 1 || fb.Filter() != display.FilterNearest {
				t.Fatalf("2x2 on 2x2: scale %g filter %s", fb.Scale(), fb.Filter())
			}
			if err := fb.DrawAll(frame); err != nil {
				t.Fatal(err)
			}
			got := contents(t, f)
			want := make([]byte, len(got))
			for i, tx := range frame {
				off := (1+i/2)*g.Stride + (1+i%2)*bpp
				copy(want[off:], c.want(tx&0xff, tx>>8&0xff, tx>>16&0xff))
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("buffer\n got %x\nwant %x", got, want)
			}
		})
	}
}

// The frame is scaled to fit, aspect kept, centred: its corner pixels
// land on the corners of the frame's screen rectangle, the bars are
// black, and the rectangle is where the mode says.
func TestScaleToFit(t *testing.T) {
	const fw, fh = 1920, 1080
	frame := make([]uint32, fw*fh)
	for i := range frame {
		frame[i] = rgba(40, 40, 40)
	}
	corners := map[image.Point]uint32{
		{0, 0}: rgba(255, 0, 0), {fw - 1, 0}: rgba(0, 255, 0), {0, fh - 1}: rgba(0, 0, 255), {fw - 1, fh - 1}: rgba(255, 255, 0),
	}
	for _, c := range []struct {
		w, h   int
		rect   image.Rectangle
		filter string
	}{
		{1280, 800, image.Rect(0, 40, 1280, 760), display.FilterNearest}, // OVMF's usual efifb mode
		{1024, 768, image.Rect(0, 96, 1024, 672), display.FilterNearest},
		{800, 600, image.Rect(0, 75, 800, 525), display.FilterBox},         // scale 0.417
		{1920, 1200, image.Rect(0, 60, 1920, 1140), display.FilterNearest}, // 1:1
		{1080, 1920, image.Rect(0, 656, 1080, 1264), display.FilterNearest},
		{3840, 2160, image.Rect(0, 0, 3840, 2160), display.FilterNearest}, // 2×
		{2560, 1080, image.Rect(320, 0, 2240, 1080), display.FilterNearest},
	} {
		fb, f := fakeFB(t, mode(bgrx, c.w, c.h))
		if err := fb.SetSource(fw, fh); err != nil {
			t.Fatal(err)
		}
		if fb.FrameRect() != c.rect || fb.Filter() != c.filter {
			t.Fatalf("%dx%d: frame at %v with %s, want %v with %s", c.w, c.h, fb.FrameRect(), fb.Filter(), c.rect, c.filter)
		}
		// The corner blocks are as big as one screen pixel needs, so that
		// box averages see only them.
		block := max(1, (fw+c.rect.Dx()-1)/c.rect.Dx()+1)
		for p, col := range corners {
			for y := max(0, p.Y-block); y < min(fh, p.Y+block); y++ {
				for x := max(0, p.X-block); x < min(fw, p.X+block); x++ {
					frame[y*fw+x] = col
				}
			}
		}
		if err := fb.DrawAll(frame); err != nil {
			t.Fatal(err)
		}
		buf := contents(t, f)
		at := func(x, y int) uint32 { // the texel a screen pixel shows
			p := buf[(y*c.w+x)*4:]
			return rgba(p[2], p[1], p[0])
		}
		r := c.rect
		for screen, frameAt := range map[image.Point]image.Point{
			r.Min: {0, 0}, {r.Max.X - 1, r.Min.Y}: {fw - 1, 0}, {r.Min.X, r.Max.Y - 1}: {0, fh - 1}, r.Max.Sub(image.Pt(1, 1)): {fw - 1, fh - 1},
		} {
			if got := at(screen.X, screen.Y); got != corners[frameAt] {
				t.Fatalf("%dx%d: screen %v shows %08x, want frame corner %v's %08x", c.w, c.h, screen, got, frameAt, corners[frameAt])
			}
		}
		for _, p := range []image.Point{{0, 0}, {c.w - 1, c.h - 1}, {r.Min.X - 1, r.Min.Y}, {r.Max.X, r.Max.Y - 1}, {r.Min.X, r.Min.Y - 1}, {r.Max.X - 1, r.Max.Y}} {
			if p.In(image.Rect(0, 0, c.w, c.h)) && !p.In(r) && at(p.X, p.Y) != rgba(0, 0, 0) {
				t.Fatalf("%dx%d: bar pixel %v is %08x, want black", c.w, c.h, p, at(p.X, p.Y))
			}
		}
		// A pointer at a screen pixel lands on a frame pixel that pixel
		// shows: the corners' at the corners.
		for screen, corner := range map[image.Point]image.Point{r.Min: {0, 0}, r.Max.Sub(image.Pt(1, 1)): {fw - 1, fh - 1}} {
			got, in := fb.FramePoint(screen)
			if !in || !screen.In(fb.ScreenRect(image.Rectangle{got, got.Add(image.Pt(1, 1))})) || c.filter == display.FilterNearest && got != corner {
				t.Fatalf("%dx%d: screen %v points at frame %v (in %v), corner %v", c.w, c.h, screen, got, in, corner)
			}
		}
		if got, in := fb.FramePoint(image.Pt(0, 0)); in && !image.Pt(0, 0).In(r) || got != func() image.Point { p, _ := fb.FramePoint(r.Min); return p }() {
			t.Fatalf("%dx%d: the screen's corner points at frame %v (in %v)", c.w, c.h, got, in)
		}
		if mid := at(r.Min.X+r.Dx()/2, r.Min.Y+r.Dy()/2); mid != rgba(40, 40, 40) {
			t.Fatalf("%dx%d: the middle shows %08x", c.w, c.h, mid)
		}
		fb.Close()
	}
}

// A window's 2-pixel trust border stays visible at every efifb mode's
// scale and at every position: along a screen line crossing a vertical
// border, some pixel is the border's colour at full strength (nearest,
// scale ≥ 1/2) or at least 40% of it over the background (box, 800x600).
func TestTrustBorderStaysVisible(t *testing.T) {
	const fw, fh = 1920, 1080
	border := rgba(255, 0, 0)
	for _, m := range []struct {
		w, h   int
		minRed uint32
	}{{1280, 800, 255}, {1024, 768, 255}, {800, 600, 102}, {640, 480, 0}} {
		if m.minRed == 0 {
			continue // below 1/3 no filter keeps a 2-pixel line: not a mode we show
		}
		fb, f := fakeFB(t, mode(bgrx, m.w, m.h))
		if err := fb.SetSource(fw, fh); err != nil {
			t.Fatal(err)
		}
		for phase := range 12 { // every position modulo the scale's period
			frame := make([]uint32, fw*fh)
			for i := range frame {
				frame[i] = rgba(0, 0, 80)
			}
			x0 := 600 + phase
			for y := 300; y < 700; y++ {
				frame[y*fw+x0], frame[y*fw+x0+1] = border, border
			}
			if err := fb.DrawAll(frame); err != nil {
				t.Fatal(err)
			}
			buf := contents(t, f)
			sr := fb.ScreenRect(image.Rect(x0, 500, x0+2, 501))
			best := uint32(0)
			for x := sr.Min.X; x < sr.Max.X; x++ {
				best = max(best, uint32(buf[(sr.Min.Y*m.w+x)*4+2]))
			}
			if best < m.minRed {
				t.Fatalf("%dx%d (%s, scale %.3f): a border at x=%d shows red %d at most, want ≥ %d", m.w, m.h, fb.Filter(), fb.Scale(), x0, best, m.minRed)
			}
		}
	}
}

// Drawing one damaged tile changes only the screen rectangle it maps to,
// and leaves the screen exactly as drawing the whole new frame would.
func TestOneTileDamage(t *testing.T) {
	const fw, fh = 1920, 1080
	r := rand.New(rand.NewPCG(7, 8))
	before := make([]uint32, fw*fh)
	for i := range before {
		before[i] = r.Uint32() | 0xff<<24
	}
	for _, g := range []display.Geometry{mode(bgrx, 1280, 800), mode(bgrx, 800, 600), mode(rgb565, 1024, 768), mode(bgr24, 3840, 2160)} {
		for _, tile := range []image.Rectangle{image.Rect(0, 0, 16, 16), image.Rect(16*37, 16*21, 16*38, 16*22), image.Rect(1904, 1072, 1920, 1080)} {
			after := append([]uint32(nil), before...)
			for y := tile.Min.Y; y < tile.Max.Y; y++ {
				for x := tile.Min.X; x < tile.Max.X; x++ {
					after[y*fw+x] = r.Uint32() | 0xff<<24
				}
			}
			fb, f := fakeFB(t, g)
			whole, wf := fakeFB(t, g)
			for _, b := range []*display.Framebuffer{fb, whole} {
				if err := b.SetSource(fw, fh); err != nil {
					t.Fatal(err)
				}
			}
			if err := fb.DrawAll(before); err != nil {
				t.Fatal(err)
			}
			old := contents(t, f)
			if err := fb.Draw(after, tile); err != nil {
				t.Fatal(err)
			}
			if err := whole.DrawAll(after); err != nil {
				t.Fatal(err)
			}
			got, want := contents(t, f), contents(t, wf)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s %s: drawing tile %v differs from drawing the whole new frame", g.Mode(), fb.Filter(), tile)
			}
			sr := fb.ScreenRect(tile)
			bpp := g.BitsPerPixel / 8
			changed := 0
			for i := range got {
				if got[i] == old[i] {
					continue
				}
				changed++
				if p := image.Pt(i%g.Stride/bpp, i/g.Stride); !p.In(sr) {
					t.Fatalf("%s: tile %v changed screen pixel %v, outside its rectangle %v", g.Mode(), tile, p, sr)
				}
			}
			if changed == 0 || sr.Dx() > tile.Dx()*g.Width/fw+2 || sr.Dy() > tile.Dy()*g.Height/fh+2 {
				t.Fatalf("%s: tile %v → screen %v changed %d bytes", g.Mode(), tile, sr, changed)
			}
			fb.Close()
			whole.Close()
		}
	}
}

// Geometry that cannot be drawn into is refused, naming the file and why.
func TestBadGeometry(t *testing.T) {
	for _, c := range []struct {
		name string
		g    display.Geometry
		file int
		want string
	}{
		{"empty", mode(bgrx, 0, 600), 4096, "empty mode 0x600"},
		{"smem", func() display.Geometry { g := mode(bgrx, 640, 480); g.Memory = 640 * 479 * 4; return g }(), 640 * 480 * 4, "bytes of memory, the 640x480x32 mode"},
		{"file", func() display.Geometry { g := mode(bgrx, 640, 480); g.Memory = 640 * 480 * 4; return g }(), 640 * 400 * 4, "the file has"},
		{"stride", func() display.Geometry { g := mode(bgrx, 640, 480); g.Stride = 640; return g }(), 640 * 480 * 4, "line length 640"},
		{"8bpp", display.Geometry{Width: 640, Height: 480, Stride: 640, BitsPerPixel: 8}, 640 * 480, "unsupported format: 8 bits per pixel"},
		{"channel", func() display.Geometry { g := mode(rgb565, 64, 48); g.Red.Offset = 12; return g }(), 64 * 48 * 2, "unsupported format: 16 bpp with red at bit 12"},
	} {
		f, err := os.Create(filepath.Join(t.TempDir(), "fb-"+c.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(int64(c.file)); err != nil {
			t.Fatal(err)
		}
		fb, err := display.OpenFile(f, c.g)
		if err == nil {
			fb.Close()
			t.Fatalf("%s: opened", c.name)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), f.Name()) {
			t.Fatalf("%s: error %q, want it to name %s and say %q", c.name, err, f.Name(), c.want)
		}
		f.Close()
	}
	fb, _ := fakeFB(t, mode(bgrx, 64, 48))
	if err := fb.DrawAll(make([]uint32, 4)); err == nil || !strings.Contains(err.Error(), "before SetSource") {
		t.Fatalf("Draw before SetSource: %v", err)
	}
	if err := fb.SetSource(32, 24); err != nil {
		t.Fatal(err)
	}
	if err := fb.DrawAll(make([]uint32, 4)); err == nil || !strings.Contains(err.Error(), "frame of 4 texels, want 32x24") {
		t.Fatalf("a short frame: %v", err)
	}
}

// Open refuses what is not a framebuffer device, naming it.
func TestOpenNotAFramebuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fb0")
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := display.Open(path, nil); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "FBIOGET_VSCREENINFO") {
		t.Fatalf("a regular file: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nofb")
	if _, err := display.Open(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("a missing device: %v", err)
	}
}
