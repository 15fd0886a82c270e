package compose_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/ from the CPU backend")

// goldenScenes are small worlds whose composed frames are kept in
// testdata/ as PNG: every backend must make them pixel for pixel. They
// cover what a frame is made of: the background, RayOS's translucent
// panel with its title, a guest desktop with its label's border, title
// bar and focus highlight, overlap in both orders, a system bar above a
// guest that asks to be on top, and a guest without a display yet.
var goldenScenes = map[string]func(r *rig){
	"desktop": func(r *rig) {
		guests := ecs.NewMap1[components.Guest](r.w.ECS)
		titled := ecs.NewMap2[components.Surface, components.Title](r.w.ECS)
		titled.NewEntity(&components.Surface{Rect: components.Rect{X: 0, Y: 0, W: 320, H: 20}, Flags: components.SurfaceVisible | components.SurfaceSystem}, &components.Title{Text: "RayOS"})
		titled.NewEntity(&components.Surface{Rect: components.Rect{X: 8, Y: 28, W: 110, H: 160}, Flags: components.SurfaceVisible, Layer: 1}, &components.Title{Text: "Launcher"})
		desktop := r.surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 100, Y: 40, W: 200, H: 140}, Owner: 1, Flags: components.SurfaceVisible | components.SurfacePresented, Z: 5})
		guests.NewEntity(&components.Guest{ID: "linux", Number: 1, State: components.GuestPresented, Presented: true, Ready: true, Label: components.LabelOrange})
		r.w.Focus.Surface = world.Ref(desktop)
		texels := make([]uint32, 40*30)
		for i := range texels {
			x, y := i%40, i/40
			texels[i] = gpu.RGBA(uint8(x*6), uint8(y*8), 90, 255)
		}
		if err := r.m.SetTexture(desktop, 40, 30, texels); err != nil {
			panic(err)
		}
	},
	"overlap-and-system": func(r *rig) {
		guests := ecs.NewMap1[components.Guest](r.w.ECS)
		titled := ecs.NewMap2[components.Surface, components.Title](r.w.ECS)
		a := r.surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 10, Y: 10, W: 180, H: 120}, Owner: 1, Flags: components.SurfaceVisible | components.SurfacePresented, Layer: 2, Z: 1})
		b := r.surfaces.NewEntity(&components.Surface{Rect: components.Rect{X: 120, Y: 60, W: 180, H: 130}, Owner: 2, Flags: components.SurfaceVisible | components.SurfacePresented, Layer: 2, Z: 2})
		guests.NewEntity(&components.Guest{ID: "work", Number: 1, State: components.GuestPresented, Presented: true, Label: components.LabelBlue, Desktop: world.Ref(a)})
		guests.NewEntity(&components.Guest{ID: "untrusted-browser", Number: 2, State: components.GuestHidden, Label: components.LabelRed, Desktop: world.Ref(b)})
		// A system surface in the lowest layer still lies above both guests.
		titled.NewEntity(&components.Surface{Rect: components.Rect{X: 60, Y: 150, W: 200, H: 24}, Flags: components.SurfaceVisible | components.SurfaceSystem}, &components.Title{Text: "confirm: present work?"})
		// b shows its placeholder (no display yet); a's content is its own
		// border colour, trying to blend into its frame: the frame is
		// still RayOS's, and a still cannot reach outside it.
		border := make([]uint32, 16)
		for i := range border {
			border[i] = gpu.RGBA(30, 136, 229, 255)
		}
		if err := r.m.SetTexture(a, 4, 4, border); err != nil {
			panic(err)
		}
	},
}

func TestComposedFramesMatchTheGoldens(t *testing.T) {
	for name, build := range goldenScenes {
		path := filepath.Join("testdata", "golden-"+name+".png")
		for _, b := range backends(t) {
			t.Run(fmt.Sprintf("%s/%s", name, b.Info().Backend), func(t *testing.T) {
				r := newRig(t, b, 320, 200)
				build(r)
				r.start(t)
				r.tick(t)
				r.tick(t)
				img := &image.RGBA{Pix: gpu.Bytes(r.frame), Stride: 4 * 320, Rect: image.Rect(0, 0, 320, 200)}
				var out bytes.Buffer
				if err := png.Encode(&out, img); err != nil {
					t.Fatal(err)
				}
				if *update && b.Info().Backend == "cpu" {
					if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./systems/compose -run Golden -update writes it)", err)
				}
				want, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				bad := 0
				for y := range 200 {
					for x := range 320 {
						wr, wg, wb, wa := want.At(x, y).RGBA()
						c := r.frame[y*320+x]
						if uint32(uint8(c)) != wr>>8 || uint32(uint8(c>>8)) != wg>>8 || uint32(uint8(c>>16)) != wb>>8 || c>>24 != wa>>8 {
							if bad++; bad <= 5 {
								t.Errorf("pixel (%d,%d): %08x, golden %02x%02x%02x%02x", x, y, c, wa>>8, wb>>8, wg>>8, wr>>8)
							}
						}
					}
				}
				if bad > 0 {
					_ = os.WriteFile(filepath.Join(t.TempDir(), "got.png"), out.Bytes(), 0o644)
					t.Errorf("%d pixels differ from %s", bad, path)
				}
			})
		}
	}
}

// backends are the CPU backend and Vulkan (lavapipe here): the goldens
// hold on both.
func backends(t *testing.T) []gpu.Backend {
	t.Helper()
	vk, err := gpu.NewVulkan()
	if err != nil {
		t.Fatalf("Vulkan backend: %v (run `make deps`)", err)
	}
	t.Cleanup(func() { vk.Close() })
	return []gpu.Backend{gpu.NewCPU(), vk}
}
