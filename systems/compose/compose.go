// Package compose owns what the framebuffer shows: it gives every surface
// its pixels in the GPU mirror's texture atlas and asks for a composition
// when they change. The blend itself is the compose kernel (gpu.Compose on
// the CPU backend), run by gpu-submit.
//
// Until guests deliver their display (the guests issue), a surface's pixels
// are drawn here: RayOS surfaces as translucent panels, guest desktops as a
// checkerboard in their OS's colour.
package compose

import (
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// System gives surfaces their pixels.
type System struct {
	mirror   *gpu.Mirror
	surfaces *ecs.Filter1[components.Surface]
	get      *ecs.Map1[components.Surface]
	missing  []ecs.Entity
	texels   []uint32
}

// New returns the compose system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "compose",
		Purpose: "give every surface its pixels in the texture atlas; changed pixels or surfaces trigger the compose kernel",
		Reads:   []string{"Surface"},
		Writes:  []string{"Mirror texture atlas"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.surfaces = ecs.NewFilter1[components.Surface](w.ECS).Register()
	s.get = ecs.NewMap1[components.Surface](w.ECS)
	s.mirror, err = gpu.MirrorOf(w.ECS, "compose")
	return err
}

// TextureWidth and TextureHeight size the drawn placeholder textures; the
// compose kernel scales them to each surface's Rect.
const (
	TextureWidth  = 64
	TextureHeight = 36
)

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.missing = s.missing[:0]
	q := s.surfaces.Query()
	for q.Next() {
		if !s.mirror.HasTexture(q.Entity()) {
			s.missing = append(s.missing, q.Entity())
		}
	}
	if len(s.missing) == 0 {
		return
	}
	for _, e := range s.missing {
		s.texels = Placeholder(s.get.Get(e), s.texels[:0])
		if err := s.mirror.SetTexture(e, TextureWidth, TextureHeight, s.texels); err != nil {
			w.Log().Error("compose: texture", "surface", e.ID(), "err", err)
		}
	}
}

// Owner colours of placeholder textures: RayOS, Linux guests, Windows
// guests (by Surface.Owner parity, until guests carry their OS here).
var (
	rayosPanel = gpu.RGBA(70, 110, 200, 200)
	guestA     = gpu.RGBA(233, 84, 32, 255)
	guestB     = gpu.RGBA(0, 120, 215, 255)
)

// Placeholder draws a surface's stand-in pixels into dst: a translucent
// panel with a one-texel border for RayOS surfaces, a checkerboard for
// guest desktops.
func Placeholder(s *components.Surface, dst []uint32) []uint32 {
	for y := 0; y < TextureHeight; y++ {
		for x := 0; x < TextureWidth; x++ {
			var c uint32
			switch {
			case s.Owner == components.OwnerRayOS && (x == 0 || y == 0 || x == TextureWidth-1 || y == TextureHeight-1):
				c = gpu.RGBA(230, 235, 245, 255)
			case s.Owner == components.OwnerRayOS:
				c = rayosPanel
			case (x/8+y/8)%2 == 0:
				c = guestA
				if s.Owner%2 == 0 {
					c = guestB
				}
			default:
				c = gpu.RGBA(245, 245, 245, 255)
			}
			dst = append(dst, c)
		}
	}
	return dst
}
