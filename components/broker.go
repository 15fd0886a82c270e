package components

// GuestDisplay is the size of a guest's own display, in the guest's
// pixels, on the guest's entity: the input broker scales pointer positions
// over the guest's desktop surface to it. A guest without one is assumed
// to show DefaultGuestDisplay.
type GuestDisplay struct {
	Width  int32 `json:"width"`
	Height int32 `json:"height"`
}

// DefaultGuestDisplay is QEMU's standard VGA mode, what a guest shows
// until its display's size is known.
var DefaultGuestDisplay = GuestDisplay{Width: 1024, Height: 768}

// Modifier bits of SurfaceInput.Modifiers: the modifier keys held on the
// keyboard an event came from (either side).
const (
	ModShift uint8 = 1 << iota
	ModCtrl
	ModAlt
	ModMeta
)

// SurfaceInput is one key or pointer event delivered to one of RayOS's own
// surfaces (Surface.Owner = OwnerRayOS). The input broker creates it; it
// lives for exactly the tick after its input was fed, like the Input
// itself. Only the fields of its Kind are meaningful.
type SurfaceInput struct {
	// Surface is the surface it is for.
	Surface EntityRef `json:"surface"`
	// Kind is InputKey or InputPointer; Seq and Device are the input's.
	Kind   InputKind `json:"kind"`
	Seq    uint64    `json:"seq"`
	Device uint32    `json:"device,omitempty"`
	// Key and Pressed are the key event (every press and release,
	// modifiers included); Modifiers the modifiers held with it.
	Key       uint16 `json:"key,omitempty"`
	Pressed   bool   `json:"pressed,omitempty"`
	Modifiers uint8  `json:"modifiers,omitempty"`
	// Pointer is the position in the surface's own pixels (from the
	// top-left corner of its Rect); Buttons the button mask, Clicked the
	// buttons newly pressed by this event. Motion is coalesced: at most
	// one pointer event without a new button per surface per tick.
	Pointer [2]int32 `json:"pointer,omitempty"`
	Buttons uint32   `json:"buttons,omitempty"`
	Clicked uint32   `json:"clicked,omitempty"`
}
