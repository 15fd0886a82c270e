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

// SetFrameTap turns the frame tap on or off, from the next Submit on:
// while on, each collected run
// that composed reads back the tiles it recomposed (only those: a tile is
// recomposed when something on it changed), and FrameUpdate
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

// LatestFrameUpdate returns the last collected composition's tiles
// without consuming them (FrameUpdate's once-only hand-out is unaffected),
// and false before the tap produced any. Several consumers can read the
// same update; each tells a new one from the one it saw by its Seq
// (FrameReader does the bookkeeping). The update's slices are reused by
// the next collected composition.
func (m *Mirror) LatestFrameUpdate() (*FrameUpdate, bool) {
	if m.tap.update.Seq == 0 {
		return nil, false
	}
	return &m.tap.update, true
}

// RequestFullFrame makes the next composition recompose, and the tap
// read back, every tile: for a consumer that missed an update. The tap
// must be on (SetFrameTap) for the tiles to be read back.
func (m *Mirror) RequestFullFrame() { m.tap.full = true }

// FrameReader is one consumer's view of the frame tap, for when several
// consumers (the debug viewer, the framebuffer display) each keep their
// own copy of the frame: Next hands each composition's update to every
// reader, not only to the first that asks. The zero value is ready and
// expects the mirror's first composition (Seq 1); turn the tap on
// (SetFrameTap(true)) before the first Next, and never off while a
// reader depends on it.
type FrameReader struct {
	seq uint64
	// needFull says the reader missed an update and waits for a whole
	// frame: until one comes it asks again after each partial one,
	// because a request made while a partial composition is in flight is
	// cleared when that one is collected.
	needFull bool
}

// Next returns the composition's update the reader has not seen yet, or
// false when there is none (nothing was composed since the last call).
// A reader that skipped an update (Seq jumped) gets the latest one all
// the same — its tiles are current — and a whole frame soon after, which
// it must apply like any update. Call it on the goroutine that ticks,
// after the tick; copy what must outlive the next collection.
func (r *FrameReader) Next(m *Mirror) (*FrameUpdate, bool) {
	u, ok := m.LatestFrameUpdate()
	if !ok || u.Seq == r.seq {
		return nil, false
	}
	if u.Seq != r.seq+1 {
		r.needFull = true
	}
	r.seq = u.Seq
	if r.needFull {
		if len(u.Tiles) == u.TilesX*u.TilesY {
			r.needFull = false
		} else {
			m.RequestFullFrame()
		}
	}
	return u, true
}

// frameTap is the tap's state.
type frameTap struct {
	on, full, fresh bool
	// inFlight says the run in flight writes the tap: the tap may be
	// turned on between a Submit and its Collect, and that run's tap
	// buffer was never written (nor sized).
	inFlight bool
	update   FrameUpdate
}

// RequestFrameCopy asks the next collection of a run — at its usual place
// in the tick, so that results are read when they always are — to copy
// the whole composed frame into host memory; FrameCopy then returns it
// once. It is how a one-off consumer (a screenshot) reads the frame of a
// running world without collecting early, which would change the tick a
// run's results are read in.
func (m *Mirror) RequestFrameCopy() { m.frameCopy.wanted = true }

// FrameCopy returns the frame copied for RequestFrameCopy (width ×
// height RGBA texels, row by row), once. The slice is reused by the next
// copy.
func (m *Mirror) FrameCopy() ([]uint32, bool) {
	if !m.frameCopy.ready {
		return nil, false
	}
	m.frameCopy.ready = false
	return m.frameCopy.texels, true
}

// frameCopy is RequestFrameCopy's state.
type frameCopy struct {
	wanted, ready bool
	texels        []uint32
}

// copyFrame fills a requested frame copy; Collect calls it once the run
// is done.
func (m *Mirror) copyFrame() error {
	if !m.frameCopy.wanted {
		return nil
	}
	m.frameCopy.wanted = false
	m.frameCopy.texels = resize(m.frameCopy.texels, m.cfg.FrameWidth*m.cfg.FrameHeight)
	if err := m.readFrameCollected(m.frameCopy.texels); err != nil {
		return err
	}
	m.frameCopy.ready = true
	return nil
}
