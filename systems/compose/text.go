package compose

import (
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Text is drawn with the Go fonts (golang.org/x/image): embedded, so a
// title looks the same on every machine, and rasterised in pure Go, so the
// same text gives the same texels on every run — the compositor's golden
// images depend on it.

// TitleFontSize is the title bars' font size in pixels.
const TitleFontSize = 12

var titleFace = sync.OnceValue(func() font.Face {
	f, err := opentype.Parse(gomedium.TTF)
	if err != nil {
		panic("compose: the embedded Go font does not parse: " + err.Error())
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: TitleFontSize, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic("compose: the embedded Go font has no face: " + err.Error())
	}
	return face
})

// textMu serialises drawing: an opentype face keeps glyph caches and is
// not safe for concurrent use.
var textMu sync.Mutex

// RenderText draws text in colour fg on a width × height field of colour
// bg (both RGBA as the kernels pack them), left-aligned with a margin of
// pad pixels and centred vertically, cut with an ellipsis where it does
// not fit. It returns the field as texels, row by row, appended to dst.
func RenderText(dst []uint32, text string, width, height, pad int, fg, bg uint32) []uint32 {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(unpack(bg)), image.Point{}, draw.Src)
	textMu.Lock()
	face := titleFace()
	text = fit(face, text, width-2*pad)
	m := face.Metrics()
	baseline := (fixed.I(height) + m.Ascent - m.Descent) / 2
	d := font.Drawer{Dst: img, Src: image.NewUniform(unpack(fg)), Face: face, Dot: fixed.Point26_6{X: fixed.I(pad), Y: baseline}}
	d.DrawString(text)
	textMu.Unlock()
	for i := 0; i < len(img.Pix); i += 4 {
		p := img.Pix[i : i+4 : i+4]
		dst = append(dst, uint32(p[0])|uint32(p[1])<<8|uint32(p[2])<<16|uint32(p[3])<<24)
	}
	return dst
}

// fit shortens text with "…" until it is at most width pixels wide.
func fit(face font.Face, text string, width int) string {
	if font.MeasureString(face, text).Ceil() <= width {
		return text
	}
	runes := []rune(text)
	for len(runes) > 0 {
		runes = runes[:len(runes)-1]
		if s := string(runes) + "…"; font.MeasureString(face, s).Ceil() <= width {
			return s
		}
	}
	return ""
}

func unpack(c uint32) color.RGBA {
	return color.RGBA{R: uint8(c), G: uint8(c >> 8), B: uint8(c >> 16), A: uint8(c >> 24)}
}

// ink is the text colour that reads on background bg: black on light
// colours, white on dark ones (by perceived luminance).
func ink(bg uint32) uint32 {
	c := unpack(bg)
	if 299*int(c.R)+587*int(c.G)+114*int(c.B) > 140_000 {
		return 0xff101010
	}
	return 0xfff4f4f4
}
