package tests

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `rayos ctl screenshot FILE` saves the composed frame: the ACK names the
// file in RAYOS_DATA/screenshots, FILE is a copy, both are the frame the
// world shows (the same as `--frame` writes at exit, the demo world being
// still by then). The request is the host's: it leaves no marker in the
// world's stream. Asked for many times, RAYOS_DATA keeps the newest 16.
// Bad usage is refused before anything is sent.
func TestCtlScreenshotSavesTheComposedFrame(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100", "--frame", "exit.png")
	// Let focus settle (it follows gaze two ticks behind) before comparing.
	r.waitFor(t, "RAYOS_GUEST:")
	ctl := func(args ...string) result {
		return rayos(t, dir, append([]string{"ctl", "--data", "data"}, args...)...)
	}
	res := ctl("screenshot", "shot.png")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "RAYOS_HOST_ACK:screenshot:ok:") {
		t.Fatalf("ctl screenshot: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	kept := strings.TrimSpace(strings.TrimPrefix(res.stdout, "RAYOS_HOST_ACK:screenshot:ok:"))
	if want, _ := filepath.EvalSymlinks(filepath.Join(dir, "data", "screenshots")); !filepath.IsAbs(kept) || filepath.Dir(kept) != want && filepath.Dir(kept) != filepath.Join(dir, "data", "screenshots") {
		t.Errorf("the screenshot went to %s, not RAYOS_DATA/screenshots", kept)
	}
	shot, copied := decodePNG(t, kept), decodePNG(t, filepath.Join(dir, "shot.png"))
	if b := shot.Bounds(); b.Dx() != 1920 || b.Dy() != 1080 {
		t.Fatalf("screenshot is %v", b)
	}
	if !bytes.Equal(shot.(*image.RGBA).Pix, copied.(*image.RGBA).Pix) {
		t.Error("FILE is not the screenshot RayOS wrote")
	}
	for range 20 {
		if res := ctl("screenshot"); res.code != 0 {
			t.Fatalf("screenshot: exit %d %q", res.code, res.stderr)
		}
	}
	r.stop(t)
	shots, err := filepath.Glob(filepath.Join(dir, "data", "screenshots", "*"))
	if err != nil || len(shots) != 16 {
		t.Errorf("%d screenshots kept, want the newest 16: %v", len(shots), shots)
	}
	if strings.Contains(r.output(), "screenshot") {
		t.Error("the screenshot request left a marker in the world's stream")
	}
	if !bytes.Equal(shot.(*image.RGBA).Pix, decodePNG(t, filepath.Join(dir, "exit.png")).(*image.RGBA).Pix) {
		t.Error("the screenshot differs from the frame written at exit (the demo world is still)")
	}
	for _, bad := range [][]string{{"screenshot", "a.png", "b.png"}} {
		if res := ctl(bad...); res.code != 2 || !strings.Contains(res.stderr, "at most one FILE") {
			t.Errorf("ctl %v: exit %d, stderr %q", bad, res.code, res.stderr)
		}
	}
}

// A FILE that cannot be written is an error naming it, and leaves nothing
// behind.
func TestCtlScreenshotToAnUnwritablePlace(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	res := rayos(t, dir, "ctl", "--data", "data", "screenshot", filepath.Join(dir, "no-such-folder", "x.png"))
	if res.code != 1 || !strings.Contains(res.stderr, "no-such-folder") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "no-such-folder")); !os.IsNotExist(err) {
		t.Error("a folder was created for the bad FILE")
	}
	r.stop(t)
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
