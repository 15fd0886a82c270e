package gpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// Damage tracking is complete: after any sequence of changes — surfaces
// moved, resized, added, removed, hidden, reordered, their textures
// changed in part or replaced, decorations and titles changed — the frame
// composed only where damage was seen is exactly the frame composed from
// scratch.
func TestDamageOnlyFrameEqualsAFullRecomposition(t *testing.T) {
	w := ecs.NewWorld()
	cfg := DefaultMirrorConfig
	cfg.FrameWidth, cfg.FrameHeight = 200, 150
	m, err := Install(w, NewCPU(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	surfaces := ecs.NewMap1[components.Surface](w)
	r := rand.New(rand.NewPCG(41, 42))
	var live []ecs.Entity
	texture := func(e ecs.Entity, width, height int) {
		texels := make([]uint32, width*height)
		for i := range texels {
			texels[i] = r.Uint32() | 0x80000000
		}
		if err := m.SetTexture(e, width, height, texels); err != nil {
			t.Fatal(err)
		}
	}
	randomRect := func() components.Rect {
		return components.Rect{X: int32(r.IntN(240) - 20), Y: int32(r.IntN(190) - 20), W: int32(1 + r.IntN(120)), H: int32(1 + r.IntN(90))}
	}
	frame := make([]uint32, 200*150)
	want := make([]uint32, 200*150)
	composed := 0
	for step := range 300 {
		switch op := r.IntN(10); {
		case op == 0 || len(live) < 3:
			e := surfaces.NewEntity(&components.Surface{Rect: randomRect(), Flags: components.SurfaceVisible, Layer: uint32(r.IntN(3)), Z: float32(r.IntN(5))})
			texture(e, 1+r.IntN(40), 1+r.IntN(40))
			live = append(live, e)
		case op == 1:
			i := r.IntN(len(live))
			w.RemoveEntity(live[i])
			live = slices.Delete(live, i, i+1)
		case op == 2:
			e := live[r.IntN(len(live))]
			surfaces.Get(e).Rect = randomRect()
			m.Surfaces.Mark(e)
		case op == 3:
			e := live[r.IntN(len(live))]
			surfaces.Get(e).Flags ^= components.SurfaceVisible
			m.Surfaces.Mark(e)
		case op == 4:
			e := live[r.IntN(len(live))]
			surfaces.Get(e).Z = float32(r.IntN(5))
			m.Surfaces.Mark(e)
		case op == 5: // a few texels change in place
			e := live[r.IntN(len(live))]
			tex := m.atlasTex[atlasKey{surface: e}]
			texels := slices.Clone(m.atlasHost[tex.Offset : tex.Offset+tex.Width*tex.Height])
			for range 1 + r.IntN(3) {
				texels[r.IntN(len(texels))] = r.Uint32()
			}
			if err := m.SetTexture(e, int(tex.Width), int(tex.Height), texels); err != nil {
				t.Fatal(err)
			}
		case op == 6:
			texture(live[r.IntN(len(live))], 1+r.IntN(40), 1+r.IntN(40))
		case op == 7:
			e := live[r.IntN(len(live))]
			d := Decor{Frame: r.Uint32(), Border: uint32(r.IntN(4)), TitleHeight: uint32(r.IntN(12)), Flags: uint32(r.IntN(2))}
			if r.IntN(2) == 0 {
				d.Highlight = r.Uint32()
			}
			m.SetDecor(e, d)
		case op == 8:
			e := live[r.IntN(len(live))]
			tw, th := 1+r.IntN(60), 1+r.IntN(12)
			texels := make([]uint32, tw*th)
			for i := range texels {
				texels[i] = r.Uint32()
			}
			if err := m.SetTitle(e, tw, th, texels); err != nil {
				t.Fatal(err)
			}
		case op == 9:
			surfaces.Get(live[r.IntN(len(live))]).Layer = uint32(r.IntN(3))
			m.Surfaces.Mark(live[r.IntN(len(live))])
		}
		if err := m.Submit(); err != nil {
			t.Fatal(err)
		}
		if err := m.ReadFrame(frame); err != nil {
			t.Fatal(err)
		}
		if m.stats.Composed {
			composed += m.stats.ComposedPixels
		}
		// Nothing is left to recompose: planning again finds no damage.
		if m.planCompose() {
			t.Fatalf("step %d: %d tiles still damaged after the run that should have recomposed them", step, len(m.comp.bins.Tiles))
		}
		// From scratch: the same inputs, every pixel.
		c := &m.comp
		ComposeReference(200, 150, cfg.Background, m.hostSurfaces(), c.order, c.textures, c.decors, m.atlasHost, want)
		for i := range want {
			if frame[i] != want[i] {
				t.Fatalf("step %d: pixel (%d,%d) is %08x, a full recomposition gives %08x", step, i%200, i/200, frame[i], want[i])
			}
		}
	}
	if composed >= 300*200*150/2 {
		t.Errorf("%d pixels recomposed over 300 steps: hardly less than recomposing everything", composed)
	}
	t.Logf("%d pixels recomposed over 300 steps (%.1f%% of full recompositions)", composed, 100*float64(composed)/float64(300*200*150))
}
