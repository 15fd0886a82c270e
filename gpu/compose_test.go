package gpu_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Binning is an optimisation, not a different picture: on random scenes
// (decorations, opaque covers that cut bins, surfaces off the frame) the
// binned twin makes exactly the brute force's pixels on every damaged
// tile, and touches no other.
func TestBinnedComposeEqualsBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for round := range 40 {
		width, height := 16+r.IntN(300), 16+r.IntN(200)
		c := randomCompose(r, width, height, 1+r.IntN(24), round%3 == 0)
		got, _ := c.twin()
		want := make([]uint32, width*height)
		gpu.ComposeReference(width, height, c.p.Background, c.surfaces, c.order, c.textures, c.decor, c.texels, want)
		tilesX, _ := gpu.TilesFor(width, height)
		for y := range height {
			for x := range width {
				tile := y/gpu.TileSize*tilesX + x/gpu.TileSize
				expect := uint32(0)
				if c.damage[tile/64]&(1<<(tile%64)) != 0 {
					expect = want[y*width+x]
				}
				if got[y*width+x] != expect {
					t.Fatalf("round %d pixel (%d,%d) in tile %d: binned %08x, brute force %08x", round, x, y, tile, got[y*width+x], expect)
				}
			}
		}
	}
}

// The opaque cut is what makes binning pay: under a full-frame opaque
// surface, no tile lists anything below it.
func TestBinsStopUnderAnOpaqueCover(t *testing.T) {
	surfaces := []components.Surface{
		{Rect: components.Rect{X: 0, Y: 0, W: 64, H: 64}},
		{Rect: components.Rect{X: 0, Y: 0, W: 64, H: 64}},
		{Rect: components.Rect{X: 10, Y: 10, W: 8, H: 8}},
	}
	textures := []gpu.Texture{{Width: 1, Height: 1}, {Width: 1, Height: 1, Flags: gpu.TextureOpaque}, {Width: 1, Height: 1}}
	decor := make([]gpu.Decor, 3)
	damage := []uint64{0xffff}
	var bins gpu.Bins
	gpu.BinTiles(&bins, 64, 64, damage, surfaces, []uint32{0, 1, 2}, textures, decor)
	if len(bins.Tiles) != 16 {
		t.Fatalf("%d tiles, want 16", len(bins.Tiles))
	}
	for k, tile := range bins.Tiles {
		list := bins.Slots[bins.Start[k]:bins.Start[k+1]]
		want := []uint32{1}
		if tile == 0 || tile == 1 || tile == 4 || tile == 5 { // the small surface's 8×8 at (10,10) touches tiles 0, 1, 4, 5
			want = []uint32{1, 2}
		}
		if !slices.Equal(list, want) {
			t.Errorf("tile %d lists %v, want %v", tile, list, want)
		}
	}
}

// A guest cannot forge or hide the compositor's decoration: content the
// exact colour of its border, content that "reaches" outside its Rect
// (a texture bigger than the content area), or transparent content all
// leave the border, title bar and highlight exactly as the compositor
// draws them, and content opaque.
func TestGuestCannotForgeItsBorder(t *testing.T) {
	frameColour, highlight := gpu.RGBA(200, 30, 30, 255), gpu.RGBA(255, 255, 255, 255)
	rect := components.Rect{X: 20, Y: 10, W: 60, H: 50}
	d := gpu.Decor{Frame: frameColour, Highlight: highlight, Border: 3, TitleHeight: 12, Flags: gpu.DecorOpaqueContent}
	for name, content := range map[string]struct {
		w, h   int
		texels func(i int) uint32
	}{
		"content in the border colour":      {60, 50, func(int) uint32 { return frameColour }},
		"content in the highlight colour":   {60, 50, func(int) uint32 { return highlight }},
		"a texture larger than the content": {400, 300, func(i int) uint32 { return gpu.RGBA(0, 255, 0, 255) }},
		"transparent content":               {8, 8, func(int) uint32 { return gpu.RGBA(0, 0, 255, 0) }},
	} {
		texels := []uint32{gpu.RGBA(1, 1, 1, 255)} // what lies below: another surface's texel
		for i := range content.w * content.h {
			texels = append(texels, content.texels(i))
		}
		surfaces := []components.Surface{{Rect: components.Rect{W: 100, H: 80}}, {Rect: rect}}
		textures := []gpu.Texture{{Offset: 0, Width: 1, Height: 1}, {Offset: 1, Width: uint32(content.w), Height: uint32(content.h)}}
		decor := []gpu.Decor{{}, d}
		frame := make([]uint32, 100*80)
		gpu.ComposeReference(100, 80, gpu.RGBA(0, 0, 0, 255), surfaces, []uint32{0, 1}, textures, decor, texels, frame)
		inner := gpu.ContentRect(rect, d)
		for y := int32(0); y < 80; y++ {
			for x := int32(0); x < 100; x++ {
				got := frame[y*100+x]
				in := x >= rect.X && y >= rect.Y && x < rect.X+rect.W && y < rect.Y+rect.H
				inContent := x >= inner.X && y >= inner.Y && x < inner.X+inner.W && y < inner.Y+inner.H
				switch {
				case !in:
					if got != gpu.RGBA(1, 1, 1, 255) {
						t.Fatalf("%s: pixel (%d,%d) outside the guest's Rect is %08x: the guest drew outside", name, x, y, got)
					}
				case x == rect.X || y == rect.Y || x == rect.X+rect.W-1 || y == rect.Y+rect.H-1:
					if got != highlight {
						t.Fatalf("%s: highlight pixel (%d,%d) is %08x", name, x, y, got)
					}
				case !inContent && (x < rect.X+3 || y < rect.Y+3 || x >= rect.X+rect.W-3 || y >= rect.Y+rect.H-3):
					if got != frameColour {
						t.Fatalf("%s: border pixel (%d,%d) is %08x, want the trust colour %08x", name, x, y, got, frameColour)
					}
				case !inContent:
					if got != frameColour { // a title bar without title texels
						t.Fatalf("%s: title bar pixel (%d,%d) is %08x", name, x, y, got)
					}
				default:
					if got>>24 != 0xff || got == gpu.RGBA(1, 1, 1, 255) {
						t.Fatalf("%s: content pixel (%d,%d) is %08x: what lies below shows through", name, x, y, got)
					}
				}
			}
		}
	}
}

// A system surface is drawn above every guest surface, whatever layer or
// z the guest's has.
func TestGuestsNeverCoverSystemSurfaces(t *testing.T) {
	w := world.New(world.Config{Seed: 1, Hz: 60}, nil)
	cfg := gpu.DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 64, 48
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	system := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 64, H: 16}, Flags: components.SurfaceVisible | components.SurfaceSystem, Layer: 0, Z: -5})
	guest := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 64, H: 48}, Owner: 1, Flags: components.SurfaceVisible | components.SurfacePresented, Layer: 2, Z: 100})
	paint := func(e ecs.Entity, c uint32) {
		if err := m.SetTexture(e, 1, 1, []uint32{c}); err != nil {
			t.Fatal(err)
		}
	}
	paint(system, gpu.RGBA(10, 200, 10, 255))
	paint(guest, gpu.RGBA(200, 10, 10, 255))
	m.SetDecor(guest, gpu.Decor{Frame: gpu.RGBA(200, 0, 0, 255), Border: 2, Flags: gpu.DecorOpaqueContent})
	frame := composeNow(t, m)
	for y := range 16 {
		for x := range 64 {
			if got := frame[y*64+x]; got != gpu.RGBA(10, 200, 10, 255) {
				t.Fatalf("pixel (%d,%d) of the system surface is %08x: a guest covers it", x, y, got)
			}
		}
	}
	if got := frame[30*64+30]; got != gpu.RGBA(200, 10, 10, 255) {
		t.Errorf("below the system surface the guest shows %08x", got)
	}
}

// composeNow submits, collects and reads the whole frame.
func composeNow(t *testing.T, m *gpu.Mirror) []uint32 {
	t.Helper()
	if err := m.Submit(); err != nil {
		t.Fatal(err)
	}
	frame := make([]uint32, m.Config().FrameWidth*m.Config().FrameHeight)
	if err := m.ReadFrame(frame); err != nil {
		t.Fatal(err)
	}
	return frame
}

// Damage is exact where it can be: an unchanged world recomposes 0
// pixels; moving one surface recomposes exactly the tiles of its old and
// new rectangles; changing one texel of a texture recomposes only the
// tiles that show it; the frame tap hands out exactly those tiles.
func TestDamageIsExactlyWhatChanged(t *testing.T) {
	w := world.New(world.Config{Seed: 1, Hz: 60}, nil)
	cfg := gpu.DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 320, 240
	m, err := gpu.Install(w.ECS, gpu.NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	surfaces := ecs.NewMap1[components.Surface](w.ECS)
	a := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 10, Y: 10, W: 50, H: 40}, Flags: components.SurfaceVisible})
	b := surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 200, Y: 100, W: 100, H: 100}, Flags: components.SurfaceVisible})
	texels := make([]uint32, 10*10)
	for i := range texels {
		texels[i] = gpu.RGBA(uint8(i), 100, 50, 255)
	}
	for _, e := range []ecs.Entity{a, b} {
		if err := m.SetTexture(e, 10, 10, texels); err != nil {
			t.Fatal(err)
		}
	}
	m.SetFrameTap(true)
	step := func() (stats gpu.MirrorStats, tiles []uint32) {
		t.Helper()
		if err := m.Submit(); err != nil {
			t.Fatal(err)
		}
		stats = m.Stats()
		if err := m.Collect(); err != nil {
			t.Fatal(err)
		}
		if u, ok := m.FrameUpdate(); ok {
			tiles = slices.Clone(u.Tiles)
		}
		return stats, tiles
	}
	if s, tiles := step(); s.ComposedPixels != 320*240 || len(tiles) != 20*15 {
		t.Fatalf("first composition: %d pixels, %d tiles; want the whole frame", s.ComposedPixels, len(tiles))
	}
	for range 3 {
		if s, tiles := step(); s.Composed || s.ComposedPixels != 0 || tiles != nil {
			t.Fatalf("unchanged world: composed %v, %d pixels, tap %v", s.Composed, s.ComposedPixels, tiles)
		}
	}
	tilesOf := func(rects ...components.Rect) []uint32 {
		damage := make([]uint64, (20*15+63)/64)
		for _, r := range rects {
			gpu.DamageRect(damage, 320, 240, r)
		}
		var out []uint32
		for t := range 20 * 15 {
			if damage[t/64]&(1<<(t%64)) != 0 {
				out = append(out, uint32(t))
			}
		}
		return out
	}
	old := surfaces.Get(a).Rect
	surfaces.Get(a).Rect = components.Rect{X: 100, Y: 120, W: 50, H: 40}
	m.Surfaces.Mark(a)
	if s, tiles := step(); !slices.Equal(tiles, tilesOf(old, surfaces.Get(a).Rect)) || s.ComposedTiles != len(tiles) {
		t.Fatalf("moving a surface recomposed tiles %v, want its old and new rectangles' %v", tiles, tilesOf(old, surfaces.Get(a).Rect))
	}
	// Texel (9, 9) of b's 10×10 texture shows on pixels 290–299 × 190–199.
	changed := slices.Clone(texels)
	changed[99] = gpu.RGBA(1, 2, 3, 255)
	if err := m.SetTexture(b, 10, 10, changed); err != nil {
		t.Fatal(err)
	}
	if _, tiles := step(); !slices.Equal(tiles, tilesOf(components.Rect{X: 290, Y: 190, W: 10, H: 10})) {
		t.Fatalf("one texel recomposed tiles %v, want %v", tiles, tilesOf(components.Rect{X: 290, Y: 190, W: 10, H: 10}))
	}
	if err := m.SetTexture(b, 10, 10, changed); err != nil { // the same pixels again
		t.Fatal(err)
	}
	if s, tiles := step(); s.ComposedPixels != 0 || tiles != nil {
		t.Fatalf("an identical texture recomposed %d pixels", s.ComposedPixels)
	}
	w.ECS.RemoveEntity(b) // the last slot: its removal marks no other surface
	if _, tiles := step(); !slices.Equal(tiles, tilesOf(components.Rect{X: 200, Y: 100, W: 100, H: 100})) {
		t.Fatalf("removing a surface recomposed tiles %v", tiles)
	}
}

// BinAll (the benchmarks' brute force) composes the same frame as the
// bins it is measured against.
func TestBinAllComposesTheSameFrame(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for range 10 {
		c := randomCompose(r, 100+r.IntN(100), 80+r.IntN(80), 1+r.IntN(12), false)
		want, _ := c.twin()
		gpu.BinAll(&c.bins, int(c.p.Width), int(c.p.Height), c.damage, c.order, c.textures, c.decor)
		got, _ := c.twin()
		if !slices.Equal(got, want) {
			t.Fatal("the brute-force bins compose a different frame")
		}
	}
}
