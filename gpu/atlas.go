package gpu

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// atlasKey names a texture in the atlas: a surface's content, or the
// title bar the compositor draws for it.
type atlasKey struct {
	surface ecs.Entity
	title   bool
}

// SetTexture gives surface its pixels (width × height RGBA texels, row by
// row). Texels of an existing texture of the same size are overwritten in
// place, and only the rows that changed are uploaded and only the part of
// the frame that shows changed texels is recomposed: a guest display that
// did not change costs nothing. A new size appends to the atlas.
func (m *Mirror) SetTexture(surface ecs.Entity, width, height int, texels []uint32) error {
	if width <= 0 || height <= 0 || len(texels) != width*height {
		return fmt.Errorf("gpu: texture %d×%d with %d texels", width, height, len(texels))
	}
	x0, y0, x1, y1, changed := m.putTexels(atlasKey{surface: surface}, width, height, texels)
	if changed {
		m.damageTexels(surface, width, height, x0, y0, x1, y1)
	}
	return nil
}

// SetTitle gives surface's title bar its pixels: width × height texels
// drawn 1:1 under the top border of its decoration (SetDecor), the
// compositor's own, which the surface's content can never reach.
func (m *Mirror) SetTitle(surface ecs.Entity, width, height int, texels []uint32) error {
	if width <= 0 || height <= 0 || len(texels) != width*height {
		return fmt.Errorf("gpu: title %d×%d with %d texels", width, height, len(texels))
	}
	x0, y0, x1, y1, changed := m.putTexels(atlasKey{surface: surface, title: true}, width, height, texels)
	if changed && m.surfaces.HasUnchecked(surface) {
		r, b := m.surfaces.Get(surface).Rect, int32(m.comp.decor[surface].Border)
		m.damageRect(intersect(components.Rect{X: r.X + b + int32(x0), Y: r.Y + b + int32(y0), W: int32(x1 - x0), H: int32(y1 - y0)}, r))
	}
	return nil
}

// HasTexture reports whether surface has pixels.
func (m *Mirror) HasTexture(surface ecs.Entity) bool {
	_, ok := m.atlasTex[atlasKey{surface: surface}]
	return ok
}

// putTexels stores key's texels and reports the box of texels that
// changed in place ([x0, x1) × [y0, y1)); a texture that is new or
// changed size reports none (its Texture changed: the compositor's diff
// recomposes the whole surface).
func (m *Mirror) putTexels(key atlasKey, width, height int, texels []uint32) (x0, y0, x1, y1 int, changed bool) {
	flags := uint32(TextureOpaque)
	for _, t := range texels {
		if t>>24 != 0xff {
			flags = 0
			break
		}
	}
	tex, ok := m.atlasTex[key]
	if !ok || int(tex.Width) != width || int(tex.Height) != height {
		m.compactAtlas(width * height)
		tex = Texture{Offset: uint32(len(m.atlasHost)), Width: uint32(width), Height: uint32(height), Flags: flags}
		m.atlasHost = append(m.atlasHost, texels...)
		m.atlasTex[key] = tex
		m.markAtlas(tex.Offset, tex.Offset+uint32(width*height))
		return 0, 0, 0, 0, false
	}
	old := m.atlasHost[tex.Offset : tex.Offset+uint32(width*height)]
	x0, y0, x1, y1, changed = changedBox(old, texels, width, height)
	if changed {
		for y := y0; y < y1; y++ {
			copy(old[y*width+x0:y*width+x1], texels[y*width+x0:y*width+x1])
		}
		m.markAtlas(tex.Offset+uint32(y0*width), tex.Offset+uint32(y1*width))
	}
	tex.Flags = flags
	m.atlasTex[key] = tex
	return x0, y0, x1, y1, changed
}

// changedBox is the smallest box of texels where a and b differ.
func changedBox(a, b []uint32, width, height int) (x0, y0, x1, y1 int, changed bool) {
	x0, y0, x1, y1 = width, height, 0, 0
	for y := range height {
		row, next := a[y*width:(y+1)*width], b[y*width:(y+1)*width]
		if slices.Equal(row, next) {
			continue
		}
		first := 0
		for row[first] == next[first] {
			first++
		}
		last := width - 1
		for row[last] == next[last] {
			last--
		}
		x0, x1 = min(x0, first), max(x1, last+1)
		y0, y1 = min(y0, y), y+1
	}
	return x0, y0, x1, y1, y1 > y0
}

// markAtlas records texels [from, to) of the atlas for upload.
func (m *Mirror) markAtlas(from, to uint32) {
	if from < to {
		m.atlasRanges = append(m.atlasRanges, [2]uint32{from, to})
	}
}

// uploadAtlas writes what changed in the atlas: all of it after a
// compaction or a new buffer, else the marked ranges.
func (m *Mirror) uploadAtlas() error {
	if m.atlasDirty {
		m.atlasDirty, m.atlasRanges = false, m.atlasRanges[:0]
		return m.writeAux(m.atlas, Bytes(m.atlasHost))
	}
	for _, r := range m.atlasRanges {
		if err := m.writeAt(m.atlas, int(r[0])*4, Bytes(m.atlasHost[r[0]:r[1]])); err != nil {
			return err
		}
	}
	m.atlasRanges = m.atlasRanges[:0]
	return nil
}

// compactAtlas rebuilds the atlas from the textures of live surfaces when
// the space lost to replaced or removed textures would make it more than
// twice what is live once next more texels are added. Textures are keyed by
// entity and generation, so a recycled entity id never inherits pixels.
func (m *Mirror) compactAtlas(next int) {
	live := 0
	for key, tex := range m.atlasTex {
		if _, _, ok := m.Surfaces.Slot(key.surface); ok {
			live += int(tex.Width * tex.Height)
		}
	}
	if len(m.atlasHost)+next <= 2*(live+next) {
		return
	}
	atlas := make([]uint32, 0, live+next)
	keys := slices.SortedFunc(maps.Keys(m.atlasTex), func(a, b atlasKey) int {
		if c := cmp.Compare(a.surface.ID(), b.surface.ID()); c != 0 {
			return c
		}
		switch {
		case a.title == b.title:
			return 0
		case b.title:
			return -1
		}
		return 1
	})
	for _, key := range keys {
		tex := m.atlasTex[key]
		if _, _, ok := m.Surfaces.Slot(key.surface); !ok {
			delete(m.atlasTex, key)
			continue
		}
		n := tex.Width * tex.Height
		moved := tex
		moved.Offset = uint32(len(atlas))
		atlas = append(atlas, m.atlasHost[tex.Offset:tex.Offset+n]...)
		m.atlasTex[key] = moved
	}
	m.atlasHost = atlas
	m.atlasDirty = true
}
