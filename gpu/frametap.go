package gpu

// TileSize is the edge of the compositor's square screen tiles, in
// pixels: the unit of damage, of binning surfaces, and of what consumers
// of the frame (the viewer) read back.
const TileSize = 16

// FrameUpdate is what one composition changed: the tiles it recomposed
// and their pixels, for consumers that keep their own copy of the frame.
type FrameUpdate struct {
	// Seq counts compositions; a consumer that missed one (Seq jumped by
	// more than 1) must ask for the whole frame.
	Seq uint64
	// Width and Height are the frame's size in pixels; it has
	// TilesX × TilesY tiles, row by row, the last column and row clipped.
	Width, Height, TilesX, TilesY int
	// Tiles are the recomposed tiles' indices (y × TilesX + x),
	// ascending.
	Tiles []uint32
	// Pixels holds TileSize × TileSize RGBA texels per tile, in Tiles'
	// order, row by row within the tile; texels of an edge tile outside
	// the frame are 0.
	Pixels []uint32
}

// TilesFor returns the tile grid of a width × height frame.
func TilesFor(width, height int) (x, y int) {
	return (width + TileSize - 1) / TileSize, (height + TileSize - 1) / TileSize
}

// SetFrameTap turns the frame tap on or off: while on, each collected run
// that composed reads back the tiles it recomposed, and FrameUpdate
// returns them. Off (the default), nothing of the frame is read back.
func (m *Mirror) SetFrameTap(on bool) {
	m.tap.on = on
	m.tap.full = true // a consumer that starts listening needs every tile once
}

// FrameUpdate returns the last collected composition's tiles and whether
// there is one the caller has not seen: each is returned once. The
// update's slices are reused by the next collected composition; copy what
// must outlive it.
func (m *Mirror) FrameUpdate() (*FrameUpdate, bool) {
	if !m.tap.fresh {
		return nil, false
	}
	m.tap.fresh = false
	return &m.tap.update, true
}

// frameTap is the tap's state.
type frameTap struct {
	on, full, fresh bool
	update          FrameUpdate
	frame           []uint32
}

// tapFrame fills the tap from a composition that just finished. Until the
// compositor tracks damage by tile, every tile counts as recomposed.
func (m *Mirror) tapFrame() error {
	w, h := m.cfg.FrameWidth, m.cfg.FrameHeight
	m.tap.frame = resize(m.tap.frame, w*h)
	if err := m.readFrameCollected(m.tap.frame); err != nil {
		return err
	}
	u := &m.tap.update
	u.Seq++
	u.Width, u.Height = w, h
	u.TilesX, u.TilesY = TilesFor(w, h)
	u.Tiles = u.Tiles[:0]
	u.Pixels = resize(u.Pixels, u.TilesX*u.TilesY*TileSize*TileSize)
	for t := range u.TilesX * u.TilesY {
		u.Tiles = append(u.Tiles, uint32(t))
		copyTile(u.Pixels[t*TileSize*TileSize:(t+1)*TileSize*TileSize], m.tap.frame, w, h, t%u.TilesX, t/u.TilesX)
	}
	m.tap.full, m.tap.fresh = false, true
	return nil
}

// copyTile copies tile (tx, ty) of a width × height row-major frame into
// dst (TileSize² texels), zero outside the frame.
func copyTile(dst, frame []uint32, width, height, tx, ty int) {
	clear(dst)
	x0, y0 := tx*TileSize, ty*TileSize
	x1, y1 := min(x0+TileSize, width), min(y0+TileSize, height)
	for y := y0; y < y1; y++ {
		copy(dst[(y-y0)*TileSize:(y-y0)*TileSize+x1-x0], frame[y*width+x0:y*width+x1])
	}
}
