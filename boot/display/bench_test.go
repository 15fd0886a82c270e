package display_test

import (
	"fmt"
	"image"
	"testing"
)

// A whole frame against one damaged 16×16 tile, into efifb's usual modes
// under OVMF (nearest at 1280x800, box at 800x600): what drawing only the
// damage saves.
func BenchmarkDraw(b *testing.B) {
	const fw, fh = 1920, 1080
	frame := make([]uint32, fw*fh)
	for i := range frame {
		frame[i] = uint32(i*2654435761) | 0xff<<24
	}
	for _, size := range []image.Point{{1280, 800}, {800, 600}} {
		fb, _ := fakeFB(b, mode(bgrx, size.X, size.Y))
		if err := fb.SetSource(fw, fh); err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			damage image.Rectangle
		}{{"full", image.Rect(0, 0, fw, fh)}, {"tile", image.Rect(16*60, 16*33, 16*61, 16*34)}} {
			b.Run(fmt.Sprintf("%dx%d-%s-%s", size.X, size.Y, fb.Filter(), c.name), func(b *testing.B) {
				for b.Loop() {
					if err := fb.Draw(frame, c.damage); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
