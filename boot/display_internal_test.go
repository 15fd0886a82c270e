package boot

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rayos/engine/boot/display"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// efifbMode is OVMF's usual efifb mode: 1280x800, 32 bpp BGRX.
func efifbMode() display.Geometry {
	return display.Geometry{Width: 1280, Height: 800, Stride: 1280 * 4, BitsPerPixel: 32, Memory: 1280 * 800 * 4,
		Red: display.Channel{Offset: 16, Length: 8}, Green: display.Channel{Offset: 8, Length: 8}, Blue: display.Channel{Length: 8}}
}

// fakeDisplayFile is a zeroed file of the mode's size.
func fakeDisplayFile(t *testing.T, g display.Geometry) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "fb0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(int64(g.Memory)); err != nil {
		t.Fatal(err)
	}
	return f
}

// A boot with a display shows the composed frame on it: at the end of
// the run the framebuffer holds exactly the run's last frame (--frame's
// PNG) scaled into the mode, and RAYOS_BOOT:display says how, before the
// world.
func TestBootShowsTheFrameOnTheDisplay(t *testing.T) {
	dir := t.TempDir()
	g := efifbMode()
	fake := fakeDisplayFile(t, g)
	opened := ""
	defer func(open func(string, *slog.Logger) (*display.Framebuffer, error)) { openDisplay = open }(openDisplay)
	openDisplay = func(path string, _ *slog.Logger) (*display.Framebuffer, error) {
		opened = path
		return display.OpenFile(fake, g)
	}
	out, logs := &LockedBuffer{}, &LockedBuffer{}
	framePath := filepath.Join(dir, "frame.png")
	// Windows come and go during the run: the display follows partial
	// compositions, not only the first, whole one.
	journal := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(journal, []byte(`{"format":"rayos-journal","version":1,"seed":3,"scene":"demo","hz":500}
{"tick":4,"input":{"kind":"text","text":"start linux"}}
{"tick":8,"input":{"kind":"voice","text":"present linux"}}
{"end":60}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := world.ReadJournalFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	err = Run(Options{DataDir: filepath.Join(dir, "data"), Scene: "demo", Hz: 500, Seed: 3, Ticks: 60, GPU: gpu.ModeCPU, Journal: in,
		Fabric: FabricScene, Display: "/dev/fb0", FramePath: framePath, Stdout: out, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("boot: %v\n%s", err, logs)
	}
	if m := regexp.MustCompile(`display closed.* draws=(\d+) updates=(\d+)`).FindStringSubmatch(logs.String()); m == nil || m[2] == "0" || m[2] == "1" {
		t.Fatalf("want the first, whole frame and the window's partial ones drawn; log:\n%s", logs)
	}
	if opened != "/dev/fb0" {
		t.Fatalf("opened %q, want Options.Display", opened)
	}
	markers := out.String()
	line := "RAYOS_BOOT:display:device=/dev/fb0 mode=1280x800x32 scale=0.667 filter=nearest\n"
	at, world := strings.Index(markers, line), strings.Index(markers, "RAYOS_BOOT:world:")
	if at < 0 || world < 0 || at > world {
		t.Fatalf("want %q before RAYOS_BOOT:world; markers:\n%s", line, markers)
	}

	// What the screen must show: the PNG's frame drawn whole into a
	// second file of the same mode.
	pf, err := os.Open(framePath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(pf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := img.(*image.NRGBA)
	var pix []byte
	if ok {
		pix = rgba.Pix
	} else if r, ok := img.(*image.RGBA); ok {
		pix = r.Pix
	} else {
		t.Fatalf("frame PNG decodes as %T", img)
	}
	frame := make([]uint32, len(pix)/4)
	for i := range frame {
		frame[i] = uint32(pix[4*i]) | uint32(pix[4*i+1])<<8 | uint32(pix[4*i+2])<<16 | uint32(pix[4*i+3])<<24
	}
	ref, err := display.OpenFile(fakeDisplayFile(t, g), g)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if err := ref.SetSource(img.Bounds().Dx(), img.Bounds().Dy()); err != nil {
		t.Fatal(err)
	}
	if err := ref.DrawAll(frame); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(ref.Device())
	got, _ := os.ReadFile(fake.Name())
	if !bytes.Equal(got, want) {
		diff := 0
		for i := range got {
			if got[i] != want[i] {
				diff++
			}
		}
		t.Fatalf("the display differs from the run's last frame in %d of %d bytes", diff, len(got))
	}
	if bytes.Count(got, []byte{0}) == len(got) {
		t.Fatal("the display is black")
	}
}

// A display that cannot be opened is a warning naming the device; the
// boot goes on without one.
func TestBootWithoutItsDisplayGoesOn(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "fb0")
	out, logs := &LockedBuffer{}, &LockedBuffer{}
	err := Run(Options{DataDir: filepath.Join(dir, "data"), Scene: "demo", Hz: 500, Seed: 3, Ticks: 5, GPU: gpu.ModeCPU,
		Fabric: FabricScene, Display: missing, Stdout: out, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("a missing display failed the boot: %v", err)
	}
	if !strings.Contains(logs.String(), "display not opened") || !strings.Contains(logs.String(), missing) {
		t.Fatalf("no warning naming %s:\n%s", missing, logs)
	}
	if strings.Contains(out.String(), "RAYOS_BOOT:display:") || !strings.Contains(out.String(), "RAYOS_BOOT:shutdown:reason=tick-limit") {
		t.Fatalf("markers:\n%s", out)
	}
}

// The tick hands updates over without waiting for the writer: with no
// writer drawing at all, puts return, and the damage they leave
// coalesces into one draw of each tile, which shows the latest pixels.
func TestDisplayWriterCoalescesDamage(t *testing.T) {
	g := efifbMode()
	fb, err := display.OpenFile(fakeDisplayFile(t, g), g)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	const fw, fh = 100, 50 // 7×4 tiles, the last column and row clipped
	if err := fb.SetSource(fw, fh); err != nil {
		t.Fatal(err)
	}
	w := newDisplayWriter(fb, fw, fh, slog.Default())
	tx, ty := gpu.TilesFor(fw, fh)
	update := func(seq uint64, tiles []uint32, colour uint32) *gpu.FrameUpdate {
		u := &gpu.FrameUpdate{Seq: seq, Width: fw, Height: fh, TilesX: tx, TilesY: ty, Tiles: tiles, Pixels: make([]uint32, len(tiles)*gpu.TileSize*gpu.TileSize)}
		for i := range u.Pixels {
			u.Pixels[i] = colour
		}
		return u
	}
	all := make([]uint32, tx*ty)
	for i := range all {
		all[i] = uint32(i)
	}
	w.put(update(1, all, 0xff202020))
	for seq := uint64(2); seq < 200; seq++ { // the writer is not running: none of these may block
		w.put(update(seq, []uint32{uint32(seq % 3), 27}, 0xff000000|uint32(seq)))
	}
	go w.run()
	w.stop()
	if w.drawn != 1 {
		t.Fatalf("%d draws for 199 updates handed over while the writer was away, want 1", w.drawn)
	}
	want := make([]uint32, fw*fh)
	for i := range want {
		want[i] = 0xff202020
	}
	for _, last := range []struct{ tile, seq uint32 }{{0, 198}, {1, 199}, {2, 197}, {27, 199}} {
		copyTile(want, update(0, []uint32{last.tile}, 0xff000000|last.seq).Pixels, int(last.tile), tx, fw, fh)
	}
	ref, err := display.OpenFile(fakeDisplayFile(t, g), g)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if err := errors.Join(ref.SetSource(fw, fh), ref.DrawAll(want)); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(fb.Device())
	b, _ := os.ReadFile(ref.Device())
	if !bytes.Equal(a, b) {
		t.Fatal("the screen is not the latest pixels of every tile")
	}
}
