package guests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"strconv"
)

// DecodeImage reads a screenshot: binary PPM (P6, what QEMU sends) or PNG.
func DecodeImage(data []byte) (image.Image, error) {
	if bytes.HasPrefix(data, []byte("\x89PNG")) {
		return png.Decode(bytes.NewReader(data))
	}
	return decodePPM(data)
}

func decodePPM(data []byte) (image.Image, error) {
	r := bufio.NewReader(bytes.NewReader(data))
	var fields [4]int
	magic, err := token(r)
	if err != nil || magic != "P6" {
		return nil, errors.New("not a binary PPM (P6) or PNG image")
	}
	for i := 0; i < 3; i++ {
		t, err := token(r)
		if err != nil {
			return nil, fmt.Errorf("PPM header: %w", err)
		}
		if fields[i], err = strconv.Atoi(t); err != nil || fields[i] <= 0 {
			return nil, fmt.Errorf("PPM header: bad number %q", t)
		}
	}
	w, h, maxval := fields[0], fields[1], fields[2]
	if maxval > 255 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("PPM %dx%d maxval %d not supported", w, h, maxval)
	}
	pix := make([]byte, 3*w*h)
	if _, err := io.ReadFull(r, pix); err != nil {
		return nil, fmt.Errorf("PPM pixels: %w", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = pix[3*i], pix[3*i+1], pix[3*i+2], 255
	}
	return img, nil
}

// token reads one whitespace-separated PPM header token, skipping comments;
// it consumes exactly one whitespace byte after it, as the format requires.
func token(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		switch {
		case c == '#' && len(b) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(b) > 0 {
				return string(b), nil
			}
		default:
			b = append(b, c)
		}
	}
}

// Texels scales img (nearest neighbour) to at most maxW × maxH, keeping its
// aspect ratio, as RGBA texels for a surface's texture.
func Texels(img image.Image, maxW, maxH int) (w, h int, texels []uint32) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w > maxW {
		h, w = h*maxW/w, maxW
	}
	if h > maxH {
		w, h = w*maxH/h, maxH
	}
	w, h = max(w, 1), max(h, 1)
	texels = make([]uint32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, a := img.At(b.Min.X+x*b.Dx()/w, b.Min.Y+y*b.Dy()/h).RGBA()
			texels[y*w+x] = uint32(r>>8) | uint32(g>>8)<<8 | uint32(bl>>8)<<16 | uint32(a>>8)<<24
		}
	}
	return w, h, texels
}
