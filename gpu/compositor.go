package gpu

import (
	"errors"
	"slices"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
)

// compositor is the mirror's composition state: what the frame on the
// device shows of each surface, the damage waiting to be recomposed, and
// the bins of the run being prepared.
type compositor struct {
	// decor holds each surface's decoration (SetDecor); surfaces without
	// an entry are undecorated.
	decor map[ecs.Entity]Decor
	// shown is what the frame shows of each drawn surface as of the last
	// composition, shownOrder their order, bottom to top; shownBackground
	// the background it was composed on.
	shown           map[ecs.Entity]shownSurface
	shownOrder      []ecs.Entity
	shownBackground uint32
	// plan counts plans; a shown surface not stamped with the current one
	// has gone. dirty says a decoration changed since the last plan;
	// version is the Surfaces column's Version at the last plan (a surface
	// that left from the last slot marks nothing dirty).
	plan    uint64
	dirty   bool
	version uint64
	// damage is the bitset of tiles to recompose (row by row over the
	// frame), gathered from the diff and from texture updates.
	damage []uint64
	bins   Bins
	// The run being prepared: every slot's texture and decoration, the
	// drawn slots bottom to top, and whether it composes.
	textures []Texture
	decors   []Decor
	order    []uint32
	entities []ecs.Entity
	// tapPrograms copy the first 2^i recomposed tiles of the tap buffer
	// into its readback twin, recorded on first use; tapRecorded marks
	// which exist.
	tapPrograms [32]Program
	tapRecorded [32]bool
}

// shownSurface is what the frame shows of one surface.
type shownSurface struct {
	rect  components.Rect
	tex   Texture
	decor Decor
	plan  uint64
}

// SetDecor gives surface its decoration (Decor{} for none). A change
// damages the surface's rectangle at the next composition.
func (m *Mirror) SetDecor(surface ecs.Entity, d Decor) {
	if m.comp.decor == nil {
		m.comp.decor = map[ecs.Entity]Decor{}
	}
	m.comp.dirty = true
	if d == (Decor{}) {
		delete(m.comp.decor, surface)
		return
	}
	m.comp.decor[surface] = d
}

// DecorOf returns surface's decoration.
func (m *Mirror) DecorOf(surface ecs.Entity) Decor { return m.comp.decor[surface] }

// DamageSurface marks r (surface-local pixels: 0, 0 is the surface's
// top-left corner) of surface as changed, to be recomposed at the next
// composition: what Surface.Damage says, for pixels whose change the
// mirror cannot see itself.
func (m *Mirror) DamageSurface(surface ecs.Entity, r components.Rect) {
	if !m.surfaces.HasUnchecked(surface) {
		return
	}
	s := m.surfaces.Get(surface)
	r = components.Rect{X: s.Rect.X + r.X, Y: s.Rect.Y + r.Y, W: r.W, H: r.H}
	m.damageRect(intersect(r, s.Rect))
}

// anySet says whether a bitset has a bit set.
func anySet(bits []uint64) bool {
	for _, w := range bits {
		if w != 0 {
			return true
		}
	}
	return false
}

// DamageAll makes the next composition recompose the whole frame.
func (m *Mirror) DamageAll() {
	m.damageRect(components.Rect{W: int32(m.cfg.FrameWidth), H: int32(m.cfg.FrameHeight)})
}

func (m *Mirror) damageRect(r components.Rect) {
	tx, ty := TilesFor(m.cfg.FrameWidth, m.cfg.FrameHeight)
	m.comp.damage = resize(m.comp.damage, (tx*ty+63)/64)
	DamageRect(m.comp.damage, m.cfg.FrameWidth, m.cfg.FrameHeight, r)
}

func intersect(a, b components.Rect) components.Rect {
	x0, y0 := max(a.X, b.X), max(a.Y, b.Y)
	x1, y1 := min(a.X+a.W, b.X+b.W), min(a.Y+a.H, b.Y+b.H)
	if x0 >= x1 || y0 >= y1 {
		return components.Rect{}
	}
	return components.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// ContentRect is where a surface's texture lands on the frame: its Rect,
// less the border and title bar of its decoration.
func ContentRect(r components.Rect, d Decor) components.Rect {
	if d.Border == 0 {
		return r
	}
	b, th := int32(d.Border), int32(d.TitleHeight)
	return components.Rect{X: r.X + b, Y: r.Y + b + th, W: max(r.W-2*b, 0), H: max(r.H-2*b-th, 0)}
}

// damageTexels damages the part of surface's content that shows texels
// [x0, x1) × [y0, y1) of its width × height texture.
func (m *Mirror) damageTexels(surface ecs.Entity, width, height, x0, y0, x1, y1 int) {
	if !m.surfaces.HasUnchecked(surface) {
		return
	}
	c := ContentRect(m.surfaces.Get(surface).Rect, m.comp.decor[surface])
	// Texel tx shows on the pixels x with x·width/W = tx: from
	// ⌈tx·W/width⌉ up to ⌈(tx+1)·W/width⌉.
	ceil := func(a, b int) int { return (a + b - 1) / b }
	px0, px1 := ceil(x0*int(c.W), width), ceil(x1*int(c.W), width)
	py0, py1 := ceil(y0*int(c.H), height), ceil(y1*int(c.H), height)
	m.damageRect(components.Rect{X: c.X + int32(px0), Y: c.Y + int32(py0), W: int32(px1 - px0), H: int32(py1 - py0)})
}

// drawOrder sorts drawn surfaces bottom to top: every non-system surface
// under every system one (a guest can never cover RayOS's own), then by
// layer, then by z; the sort is stable, so equals keep slot order.
func (m *Mirror) drawOrder(a, b uint32) int {
	sa, sb := m.surfaces.Get(m.Surfaces.entities[a]), m.surfaces.Get(m.Surfaces.entities[b])
	sysA, sysB := sa.Flags&components.SurfaceSystem != 0, sb.Flags&components.SurfaceSystem != 0
	switch {
	case sysA != sysB:
		if sysA {
			return 1
		}
		return -1
	case sa.Layer != sb.Layer:
		return int(sa.Layer) - int(sb.Layer)
	case sa.Z < sb.Z:
		return -1
	case sa.Z > sb.Z:
		return 1
	}
	return 0
}

// planCompose decides what the next run recomposes, on the host: the
// textures, decorations and draw order of this tick, the damage (what
// changed on screen since the last composition, and texture updates), and
// the bins of the damaged tiles. It reports whether anything is damaged.
func (m *Mirror) planCompose() bool {
	c := &m.comp
	c.textures, c.decors, c.order, c.entities = c.textures[:0], c.decors[:0], c.order[:0], c.entities[:0]
	for slot, e := range m.Surfaces.entities {
		tex, d := m.atlasTex[atlasKey{surface: e}], c.decor[e]
		if d.Border > 0 {
			if title, ok := m.atlasTex[atlasKey{surface: e, title: true}]; ok {
				d.TitleOffset, d.TitleWidth, d.TitleRows = title.Offset, title.Width, title.Height
			}
		}
		c.textures, c.decors = append(c.textures, tex), append(c.decors, d)
		if m.surfaces.Get(e).Flags&components.SurfaceVisible != 0 && drawn(tex, d) {
			c.order = append(c.order, uint32(slot))
		}
	}
	slices.SortStableFunc(c.order, m.drawOrder)
	for _, slot := range c.order {
		c.entities = append(c.entities, m.Surfaces.entities[slot])
	}
	if !m.everComposed || c.shownBackground != m.cfg.Background {
		m.DamageAll()
	}
	// What changed on screen: a surface that appeared, went, moved,
	// changed texture or decoration damages where it was and where it is.
	if c.shown == nil {
		c.shown = map[ecs.Entity]shownSurface{}
	}
	c.plan++
	c.dirty, c.version = false, m.Surfaces.Version
	for _, slot := range c.order {
		e := m.Surfaces.entities[slot]
		cur := shownSurface{rect: m.surfaces.Get(e).Rect, tex: c.textures[slot], decor: c.decors[slot], plan: c.plan}
		old, ok := c.shown[e]
		if old.plan = c.plan; !ok || old != cur {
			if ok {
				m.damageRect(old.rect)
			}
			m.damageRect(cur.rect)
		}
		c.shown[e] = cur
	}
	for e, old := range c.shown {
		if old.plan != c.plan {
			m.damageRect(old.rect)
			delete(c.shown, e)
		}
	}
	// A change of order between surfaces that stayed damages both.
	m.damageReordered(c.shownOrder, c.entities)
	c.shownOrder = append(c.shownOrder[:0], c.entities...)
	c.shownBackground = m.cfg.Background

	if m.BinEverything {
		BinAll(&c.bins, m.cfg.FrameWidth, m.cfg.FrameHeight, c.damage, c.order, c.textures, c.decors)
	} else {
		BinTiles(&c.bins, m.cfg.FrameWidth, m.cfg.FrameHeight, c.damage, m.hostSurfaces(), c.order, c.textures, c.decors)
	}
	clear(c.damage)
	return len(c.bins.Tiles) > 0
}

// damageReordered damages the surfaces whose place relative to the others
// changed between two draw orders (those in both, compared in sequence).
func (m *Mirror) damageReordered(before, after []ecs.Entity) {
	in := func(list []ecs.Entity) map[ecs.Entity]bool {
		set := make(map[ecs.Entity]bool, len(list))
		for _, e := range list {
			set[e] = true
		}
		return set
	}
	if slices.Equal(before, after) {
		return
	}
	inBefore, inAfter := in(before), in(after)
	i, j := 0, 0
	for i < len(before) && j < len(after) {
		switch {
		case !inAfter[before[i]]:
			i++
		case !inBefore[after[j]]:
			j++
		default:
			if before[i] != after[j] {
				m.damageRect(m.comp.shown[before[i]].rect)
				m.damageRect(m.comp.shown[after[j]].rect)
			}
			i++
			j++
		}
	}
}

// hostSurfaces is the Surfaces column as the host sees it, slot by slot.
func (m *Mirror) hostSurfaces() []components.Surface {
	m.hostSurf = m.hostSurf[:0]
	for _, e := range m.Surfaces.entities {
		m.hostSurf = append(m.hostSurf, *m.surfaces.Get(e))
	}
	return m.hostSurf
}

// uploadCompose writes what planCompose prepared and the parameters.
func (m *Mirror) uploadCompose(p *ComposeParams) error {
	if err := m.uploadAtlas(); err != nil {
		return err
	}
	c := &m.comp
	if err := errors.Join(m.writeAux(m.textures, Bytes(c.textures)), m.writeAux(m.decorBuf, Bytes(c.decors)),
		m.writeAux(m.tileList, Bytes(c.bins.Tiles)), m.writeAux(m.tileStart, Bytes(c.bins.Start)),
		m.writeAux(m.tileSlots, Bytes(c.bins.Slots))); err != nil {
		return err
	}
	tilesX, _ := TilesFor(m.cfg.FrameWidth, m.cfg.FrameHeight)
	*p = ComposeParams{Width: uint32(m.cfg.FrameWidth), Height: uint32(m.cfg.FrameHeight), TilesX: uint32(tilesX),
		TileCount: uint32(len(c.bins.Tiles)), Background: m.cfg.Background}
	if m.tap.on {
		p.Tap = 1
	}
	m.tap.inFlight = m.tap.on
	m.stats.ComposedTiles = len(c.bins.Tiles)
	m.stats.ComposedPixels = composedPixels(c.bins.Tiles, tilesX, m.cfg.FrameWidth, m.cfg.FrameHeight)
	return nil
}

// composedPixels counts the frame pixels in tiles.
func composedPixels(tiles []uint32, tilesX, width, height int) int {
	n := 0
	for _, t := range tiles {
		x0, y0 := int(t)%tilesX*TileSize, int(t)/tilesX*TileSize
		n += (min(x0+TileSize, width) - x0) * (min(y0+TileSize, height) - y0)
	}
	return n
}

// tapFrame reads back the tiles the collected run recomposed, through a
// copy of the tap buffer's first 2^i tiles (the smallest that holds them;
// one program per size, recorded on first use).
func (m *Mirror) tapFrame() error {
	c := &m.comp
	n := len(c.bins.Tiles)
	class := 0
	for 1<<class < n {
		class++
	}
	bytes := min(1<<class*TileSize*TileSize*4, m.tapBuf.Size())
	if !c.tapRecorded[class] {
		p, err := m.Backend.Record([]Dispatch{{CopyFrom: m.tapBuf, CopyTo: m.tapBack, CopyBytes: bytes}})
		if err != nil {
			return err
		}
		c.tapPrograms[class], c.tapRecorded[class] = p, true
	}
	if err := errors.Join(m.Backend.Submit(c.tapPrograms[class]), m.Backend.Wait()); err != nil {
		return err
	}
	u := &m.tap.update
	u.Seq++
	u.Width, u.Height = m.cfg.FrameWidth, m.cfg.FrameHeight
	u.TilesX, u.TilesY = TilesFor(u.Width, u.Height)
	u.Tiles = append(u.Tiles[:0], c.bins.Tiles...)
	u.Pixels = resize(u.Pixels, n*TileSize*TileSize)
	if err := m.Backend.Read(m.tapBack, 0, Bytes(u.Pixels)); err != nil {
		return err
	}
	m.stats.ReadBytes += n * TileSize * TileSize * 4
	m.tap.full, m.tap.fresh = false, true
	return nil
}

// releaseTapPrograms forgets the tap's copy programs (their buffers are
// being replaced).
func (m *Mirror) releaseTapPrograms() {
	c := &m.comp
	for i := range c.tapRecorded {
		if c.tapRecorded[i] {
			m.Backend.Release(c.tapPrograms[i])
			c.tapRecorded[i] = false
		}
	}
}
