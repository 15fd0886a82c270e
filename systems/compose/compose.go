// Package compose owns what the screen says about each surface: it gives
// every surface its pixels in the GPU mirror's texture atlas until a real
// display arrives, and its decoration — the border and title bar the
// compositor draws around it (gpu.Decor): a guest desktop's in its trust
// label's colour with its registry id and state, RayOS's windows in
// RayOS's own colour with their Title, the focused surface highlighted.
// System surfaces (SurfaceSystem) are undecorated and show their Title
// on their face. It also turns Surface.Damage into recomposed tiles.
//
// The composition itself is the compose kernel (gpu.ComposeTiles on the
// CPU backend), run by gpu-submit over the damaged tiles only.
package compose

import (
	"fmt"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// Decoration geometry, in pixels.
const (
	Border      = 3
	TitleHeight = 18
	titlePad    = 6
)

// Colours RayOS decorates with. A guest's frame is its trust label's
// colour (TrustColours); RayOS's own windows use RayOSFrame, which no label
// has; the focused surface's outermost border line is Highlight.
var (
	RayOSFrame = gpu.RGBA(208, 214, 226, 255)
	Highlight  = gpu.RGBA(255, 255, 255, 255)
	// SystemFace is the background of system surfaces (the shell bar).
	SystemFace = gpu.RGBA(20, 22, 28, 255)
)

// TrustColours are the trust labels' colours.
var TrustColours = [...]uint32{
	components.LabelRed:    gpu.RGBA(229, 57, 53, 255),
	components.LabelOrange: gpu.RGBA(251, 140, 0, 255),
	components.LabelYellow: gpu.RGBA(253, 216, 53, 255),
	components.LabelGreen:  gpu.RGBA(67, 160, 71, 255),
	components.LabelGray:   gpu.RGBA(117, 117, 117, 255),
	components.LabelBlue:   gpu.RGBA(30, 136, 229, 255),
	components.LabelPurple: gpu.RGBA(142, 36, 170, 255),
	components.LabelBlack:  gpu.RGBA(33, 33, 33, 255),
}

// System gives surfaces their pixels and decorations.
type System struct {
	mirror   *gpu.Mirror
	surfaces *ecs.Filter1[components.Surface]
	get      *ecs.Map[components.Surface]
	titles   *ecs.Map[components.Title]
	guests   *ecs.Filter1[components.Guest]
	focus    *components.Focus
	w        *world.World
	// byNumber is the guests by Guest.Number, rebuilt each tick (a handful).
	byNumber []*components.Guest
	// shown is what each surface's decoration was last made from: the
	// title and decoration are redrawn only when it changes.
	shown   map[ecs.Entity]look
	missing []ecs.Entity
	texels  []uint32
}

// look is everything a surface's decoration and face are drawn from.
type look struct {
	owner        uint32
	system       bool
	focused      bool
	width        int32
	height       int32
	title        string
	guestState   components.GuestState
	guestReady   bool
	guestLabel   components.TrustLabel
	guestID      string
	hasGuestInfo bool
}

// New returns the compose system.
func New() *System { return &System{shown: map[ecs.Entity]look{}} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "compose",
		Purpose: "give every surface its pixels and its decoration (trust-coloured border and title for guests, focus highlight); changes become damaged tiles for the compose kernel",
		Reads:   []string{"Surface", "Title", "Guest", "Focus"},
		Writes:  []string{"Mirror texture atlas, decorations and damage", "Surface.Flags (SurfaceDamaged cleared)"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) (err error) {
	s.w = w
	s.surfaces = ecs.NewFilter1[components.Surface](w.ECS).Register()
	s.get = ecs.NewMap[components.Surface](w.ECS)
	s.titles = ecs.NewMap[components.Title](w.ECS)
	s.guests = ecs.NewFilter1[components.Guest](w.ECS).Register()
	s.focus = w.Focus
	s.mirror, err = gpu.MirrorOf(w.ECS, "compose")
	return err
}

// TextureWidth and TextureHeight size the drawn placeholder textures; the
// compose kernel scales them to each surface's content.
const (
	TextureWidth  = 64
	TextureHeight = 36
)

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.byNumber = s.byNumber[:0]
	gq := s.guests.Query()
	for gq.Next() {
		g := gq.Get()
		for int(g.Number) >= len(s.byNumber) {
			s.byNumber = append(s.byNumber, nil)
		}
		s.byNumber[g.Number] = g
	}
	focused, _ := w.Resolve(s.focus.Surface)
	s.missing = s.missing[:0]
	live := 0
	q := s.surfaces.Query()
	for q.Next() {
		e, sf := q.Entity(), q.Get()
		live++
		if sf.Flags&components.SurfaceDamaged != 0 {
			s.mirror.DamageSurface(e, sf.Damage)
			sf.Flags &^= components.SurfaceDamaged
			s.mirror.Surfaces.Mark(e)
		}
		now := s.look(e, sf, e == focused)
		if old, ok := s.shown[e]; !ok || old != now {
			s.missing = append(s.missing, e)
		}
	}
	for _, e := range s.missing {
		s.redraw(e, s.get.Get(e))
	}
	if len(s.shown) > live+64 { // forget surfaces that left
		for e := range s.shown {
			if !w.ECS.Alive(e) || !s.get.Has(e) {
				delete(s.shown, e)
			}
		}
	}
}

// look gathers what surface e's decoration and face are drawn from.
func (s *System) look(e ecs.Entity, sf *components.Surface, focused bool) look {
	l := look{owner: sf.Owner, system: sf.Flags&components.SurfaceSystem != 0, focused: focused, width: sf.Rect.W, height: sf.Rect.H}
	if sf.Owner != components.OwnerRayOS && int(sf.Owner) < len(s.byNumber) && s.byNumber[sf.Owner] != nil {
		g := s.byNumber[sf.Owner]
		l.hasGuestInfo, l.guestID, l.guestState, l.guestReady, l.guestLabel = true, g.ID, g.State, g.Ready, g.Label
	} else if s.titles.Has(e) {
		l.title = s.titles.Get(e).Text
	}
	return l
}

// redraw gives surface e the texture, decoration and title its look asks
// for.
func (s *System) redraw(e ecs.Entity, sf *components.Surface) {
	focused, _ := s.w.Resolve(s.focus.Surface)
	l := s.look(e, sf, e == focused)
	s.shown[e] = l
	switch {
	case l.system:
		// RayOS's own chrome: its title on its face, 1:1, no decoration.
		s.mirror.SetDecor(e, gpu.Decor{})
		if l.width > 0 && l.height > 0 && l.width*l.height <= 1<<22 {
			s.texels = RenderText(s.texels[:0], l.title, int(l.width), int(l.height), 12, ink(SystemFace), SystemFace)
			s.setTexture(e, int(l.width), int(l.height))
		}
		return
	case !s.mirror.HasTexture(e):
		s.texels = Placeholder(sf, s.texels[:0])
		s.setTexture(e, TextureWidth, TextureHeight)
	}
	frame, title, flags := RayOSFrame, l.title, uint32(0)
	if l.owner != components.OwnerRayOS {
		// A guest's decoration is RayOS's word about it, never the guest's:
		// its registry id and state, in its trust label's colour; its
		// pixels opaque, so nothing under its window shows through them.
		frame, flags = TrustColours[l.guestLabel%components.TrustLabel(len(TrustColours))], gpu.DecorOpaqueContent
		title = guestTitle(l)
	} else if title == "" {
		title = "RayOS"
	}
	d := gpu.Decor{Frame: frame, Border: Border, TitleHeight: TitleHeight, Flags: flags}
	if l.focused {
		d.Highlight = Highlight
	}
	s.mirror.SetDecor(e, d)
	if tw := int(l.width) - 2*Border; tw > 0 && tw <= 1<<14 {
		s.texels = RenderText(s.texels[:0], title, tw, TitleHeight, titlePad, ink(frame), frame)
		if err := s.mirror.SetTitle(e, tw, TitleHeight, s.texels); err != nil {
			s.w.Log().Error("compose: title", "surface", e.ID(), "err", err)
		}
	}
}

func (s *System) setTexture(e ecs.Entity, width, height int) {
	if err := s.mirror.SetTexture(e, width, height, s.texels); err != nil {
		s.w.Log().Error("compose: texture", "surface", e.ID(), "err", err)
	}
}

// guestTitle is what a guest's title bar says: its registry id, its
// lifecycle state, and whether it is ready.
func guestTitle(l look) string {
	if !l.hasGuestInfo {
		return fmt.Sprintf("guest %d", l.owner)
	}
	t := l.guestID + "  ·  " + components.GuestStateNames[l.guestState]
	if l.guestReady {
		t += "  ·  ready"
	}
	return t
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
// guest desktops until their display arrives.
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
