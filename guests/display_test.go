package guests_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/rayos/engine/guests"
)

func TestDecodeImageReadsPPMAndPNG(t *testing.T) {
	ppm := append([]byte("P6\n# a comment\n2 1\n255\n"), 255, 0, 0, 0, 0, 255)
	img, err := guests.DecodeImage(ppm)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(0, 0).RGBA(); r>>8 != 255 {
		t.Errorf("PPM pixel 0 = %v", img.At(0, 0))
	}
	if _, _, b, _ := img.At(1, 0).RGBA(); b>>8 != 255 {
		t.Errorf("PPM pixel 1 = %v", img.At(1, 0))
	}
	src := image.NewRGBA(image.Rect(0, 0, 4, 2))
	src.Set(3, 1, color.RGBA{1, 2, 3, 255})
	var buf bytes.Buffer
	png.Encode(&buf, src)
	if img, err := guests.DecodeImage(buf.Bytes()); err != nil || img.Bounds().Dx() != 4 {
		t.Errorf("PNG: %v %v", img, err)
	}
	for _, bad := range [][]byte{[]byte("P3\n1 1\n255\n"), []byte("P6\n0 1\n255\n"), append([]byte("P6\n2 2\n255\n"), 1, 2)} {
		if _, err := guests.DecodeImage(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestTexelsScaleKeepingAspect(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 720, 400))
	src.Set(718, 398, color.RGBA{9, 8, 7, 255}) // what the last texel samples
	w, h, texels := guests.Texels(src, 360, 360)
	if w != 360 || h != 200 || len(texels) != w*h {
		t.Fatalf("%dx%d (%d texels)", w, h, len(texels))
	}
	if texels[len(texels)-1] != 0xff070809 {
		t.Errorf("last texel %08x", texels[len(texels)-1])
	}
}
