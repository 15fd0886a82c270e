package boot

import (
	"image"
	"image/png"
	"io"

	"github.com/rayos/engine/gpu"
)

// writeFrame encodes the mirror's last composed frame as PNG.
func writeFrame(out io.Writer, m *gpu.Mirror) error {
	cfg := m.Config()
	texels := make([]uint32, cfg.FrameWidth*cfg.FrameHeight)
	if err := m.ReadFrame(texels); err != nil {
		return err
	}
	// Texels are bytes R, G, B, A in memory: exactly image.RGBA's Pix.
	img := &image.RGBA{Pix: gpu.Bytes(texels), Stride: 4 * cfg.FrameWidth, Rect: image.Rect(0, 0, cfg.FrameWidth, cfg.FrameHeight)}
	return png.Encode(out, img)
}
