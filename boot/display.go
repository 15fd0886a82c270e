package boot

import (
	"fmt"
	"image"
	"log/slog"
	"math/bits"
	"sync"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot/display"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world/marker"
)

// openDisplay opens Options.Display. The boot's tests replace it with a
// regular file mapped by display.OpenFile: a framebuffer's ioctls need a
// device.
var openDisplay = func(path string, log *slog.Logger) (*display.Framebuffer, error) {
	return display.Open(path, log)
}

// displayStage is the framebuffer sink (docs/display.md): the device, and
// once the tick loop starts, the frame tap's reader and the writer that
// draws off the tick.
type displayStage struct {
	fb     *display.Framebuffer
	mirror *gpu.Mirror
	frames gpu.FrameReader
	out    *displayWriter
}

// announceDisplay opens Options.Display and says how the frame will be
// shown (RAYOS_BOOT:display, before the world: like gpu and viewer it
// describes the host, so a replay's markers from the world on are the
// recording's). A display that cannot be opened is a warning, never a
// failed boot: a machine without a framebuffer still runs RayOS.
func (rt *runtime) announceDisplay() {
	path := rt.o.Display
	if path == "" {
		return
	}
	fb, err := openDisplay(path, rt.log)
	if err != nil {
		rt.log.Warn("display not opened; running without one", "device", path, "err", err)
		return
	}
	rt.closers = append(rt.closers, func() {
		if err := fb.Close(); err != nil {
			rt.log.Warn("display not closed cleanly", "device", path, "err", err)
		}
	})
	// The frame's size is the mirror's, installed later with this config
	// (Assemble); startDisplay checks.
	cfg := gpu.DefaultMirrorConfig
	if err := fb.SetSource(cfg.FrameWidth, cfg.FrameHeight); err != nil {
		rt.log.Warn("display not usable; running without one", "device", path, "err", err)
		return
	}
	rt.display.fb = fb
	rt.bus.Emit(marker.Boot("display", fmt.Sprintf("device=%s mode=%s scale=%.3f filter=%s",
		path, fb.Geometry().Mode(), fb.Scale(), fb.Filter())))
}

// startDisplay turns the frame tap on and starts the writer; called once
// before the tick loop.
func (rt *runtime) startDisplay() {
	d := &rt.display
	if d.fb == nil {
		return
	}
	m := ecs.GetResource[gpu.Mirror](rt.w.ECS)
	if m == nil {
		rt.log.Warn("display: the world has no compositor; nothing to show", "device", d.fb.Device())
		return
	}
	cfg := m.Config()
	if err := d.fb.SetSource(cfg.FrameWidth, cfg.FrameHeight); err != nil {
		rt.log.Warn("display not usable; running without one", "device", d.fb.Device(), "err", err)
		return
	}
	d.mirror = m
	d.out = newDisplayWriter(d.fb, cfg.FrameWidth, cfg.FrameHeight, rt.log)
	// On for the rest of the run, like the viewer's: each consumer reads
	// it through its own FrameReader. Turning it on asks for every tile,
	// so the first composition fills the screen.
	m.SetFrameTap(true)
	go d.out.run()
	// Before the device closes (closers run last first). The run's last
	// composition may have been collected after the last tick (--frame
	// reads the frame): it is shown too, so the screen ends on the frame
	// the run ended on.
	rt.closers = append(rt.closers, func() {
		rt.showDisplay()
		d.out.stop()
		rt.log.Debug("display closed", "device", d.fb.Device(), "draws", d.out.drawn, "updates", d.out.updates)
	})
}

// showDisplay hands the tick's composition, if any, to the writer. It
// copies the recomposed tiles and returns: the tick never waits for the
// framebuffer.
func (rt *runtime) showDisplay() {
	d := &rt.display
	if d.out == nil {
		return
	}
	if u, ok := d.frames.Next(d.mirror); ok {
		d.out.put(u)
	}
}

// displayWriter draws the frame on the framebuffer on a goroutine of its
// own. The tick side copies each update's tiles into shared and marks
// them damaged; the writer takes the damaged tiles into its own copy and
// draws them. Between two draws damage accumulates, so a writer slower
// than the compositions draws each tile once for all the updates it
// missed (damage coalesces) and the tick goes on.
type displayWriter struct {
	fb                          *display.Framebuffer
	log                         *slog.Logger
	width, height, tilesX, rows int

	mu sync.Mutex
	// shared is the frame as of the last update, damage the tiles
	// changed since the writer last took them (a bit per tile).
	shared []uint32
	damage []uint64

	// own and taken are the writer's: the frame it draws from, and the
	// tiles it took.
	own   []uint32
	taken []uint64
	rects []image.Rectangle

	wake, quit, done chan struct{}
	// drawn counts the draws, updates the updates handed over (read
	// after stop).
	drawn, updates int
	failedYet      bool
}

func newDisplayWriter(fb *display.Framebuffer, width, height int, log *slog.Logger) *displayWriter {
	tx, ty := gpu.TilesFor(width, height)
	words := (tx*ty + 63) / 64
	return &displayWriter{
		fb: fb, log: log, width: width, height: height, tilesX: tx, rows: ty,
		shared: make([]uint32, width*height), damage: make([]uint64, words),
		own: make([]uint32, width*height), taken: make([]uint64, words),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
}

// put copies an update's tiles into the shared frame and wakes the
// writer. The lock is held for the copy only: the writer holds it only
// to copy damaged tiles out, never while it draws.
func (w *displayWriter) put(u *gpu.FrameUpdate) {
	if u.Width != w.width || u.Height != w.height || len(u.Pixels) < len(u.Tiles)*gpu.TileSize*gpu.TileSize {
		// The frame's size is fixed for a run (startDisplay sized the
		// writer from it); an update cut short (a composition that
		// failed half-way, seen at exit) is not drawn.
		return
	}
	w.updates++
	w.mu.Lock()
	for i, tile := range u.Tiles {
		if int(tile) >= w.tilesX*w.rows {
			continue
		}
		w.damage[tile/64] |= 1 << (tile % 64)
		copyTile(w.shared, u.Pixels[i*gpu.TileSize*gpu.TileSize:], int(tile), w.tilesX, w.width, w.height)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // already woken: it will take these tiles too
	}
}

// copyTile copies a tile's TileSize² texels (gpu.FrameUpdate's layout)
// into tile number n of a width × height frame; an edge tile's texels
// outside the frame are skipped.
func copyTile(frame, tile []uint32, n, tilesX, width, height int) {
	x0, y0 := n%tilesX*gpu.TileSize, n/tilesX*gpu.TileSize
	w := min(gpu.TileSize, width-x0)
	for y := range min(gpu.TileSize, height-y0) {
		f := frame[(y0+y)*width+x0 : (y0+y)*width+x0+w]
		t := tile[y*gpu.TileSize : y*gpu.TileSize+w]
		copy(f, t)
	}
}

// run draws until stop; what was damaged before stop is drawn.
func (w *displayWriter) run() {
	defer close(w.done)
	for {
		select {
		case <-w.wake:
			w.draw()
		case <-w.quit:
			w.draw()
			return
		}
	}
}

// stop ends the writer after its last draw.
func (w *displayWriter) stop() {
	close(w.quit)
	<-w.done
}

// draw takes the damaged tiles and draws them: each row of tiles as runs
// of adjacent damaged tiles, one rectangle a run (the screen rectangles
// of neighbouring tiles share their rounded edges; a run draws them
// once).
func (w *displayWriter) draw() {
	w.mu.Lock()
	damaged := false
	for i, word := range w.damage {
		w.taken[i], w.damage[i] = word, 0
		for word != 0 {
			damaged = true
			t := i*64 + bits.TrailingZeros64(word)
			word &= word - 1
			copyRows(w.own, w.shared, t, w.tilesX, w.width, w.height)
		}
	}
	w.mu.Unlock()
	if !damaged {
		return
	}
	w.rects = w.rects[:0]
	for row := range w.rows {
		for x := 0; x < w.tilesX; {
			if !w.isTaken(row*w.tilesX + x) {
				x++
				continue
			}
			x0 := x
			for x < w.tilesX && w.isTaken(row*w.tilesX+x) {
				x++
			}
			w.rects = append(w.rects, image.Rect(x0*gpu.TileSize, row*gpu.TileSize, x*gpu.TileSize, (row+1)*gpu.TileSize))
		}
	}
	if err := w.fb.Draw(w.own, w.rects...); err != nil && !w.failedYet {
		w.failedYet = true // once: a broken display must not flood the log
		w.log.Warn("display: drawing failed", "device", w.fb.Device(), "err", err)
	}
	w.drawn++
}

func (w *displayWriter) isTaken(t int) bool { return w.taken[t/64]&(1<<(t%64)) != 0 }

// copyRows copies tile t's pixels from one frame to another of the same
// size.
func copyRows(dst, src []uint32, t, tilesX, width, height int) {
	x0, y0 := t%tilesX*gpu.TileSize, t/tilesX*gpu.TileSize
	x1 := min(x0+gpu.TileSize, width)
	for y := y0; y < min(y0+gpu.TileSize, height); y++ {
		copy(dst[y*width+x0:y*width+x1], src[y*width+x0:y*width+x1])
	}
}
