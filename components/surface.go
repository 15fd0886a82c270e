package components

// Surface flag bits (Surface.Flags).
const (
	// SurfaceVisible: the surface takes part in composition.
	SurfaceVisible uint32 = 1 << 0
	// SurfacePresented: a guest desktop surface that policy and the user
	// have allowed on screen; only a presented guest receives input.
	SurfacePresented uint32 = 1 << 1
	// SurfaceDamaged: Damage holds a region changed since the last compose.
	SurfaceDamaged uint32 = 1 << 2
	// SurfaceSystem: one of RayOS's own system surfaces (status,
	// confirmations). The compositor draws every system surface above
	// every other surface, whatever their layers: guest content can never
	// cover one.
	SurfaceSystem uint32 = 1 << 3
)

// OwnerRayOS is the Surface.Owner of surfaces that RayOS itself draws.
const OwnerRayOS uint32 = 0

// Surface is a RayOS-owned window or a guest's desktop: a rectangle placed in
// the 3D scene (for attention hit tests) and on the framebuffer (for
// composition).
//
// GPU-mirrored, std430, 96 bytes:
//
//	offset  field
//	     0  Center      vec3
//	    12  Z           float
//	    16  Right       vec3
//	    28  HalfWidth   float
//	    32  Up          vec3
//	    44  HalfHeight  float
//	    48  Rect        ivec4
//	    64  Damage      ivec4
//	    80  Owner       uint
//	    84  Flags       uint
//	    88  Layer       uint
//	    92  Guest       uint
type Surface struct {
	// Center is the middle of the surface's quad in scene space (metres).
	Center Vec3 `json:"center"`
	// Z orders overlapping surfaces on the framebuffer; larger is on top.
	Z float32 `json:"z"`
	// Right is the unit vector along the quad's width.
	Right Vec3 `json:"right"`
	// HalfWidth is half the quad's width in metres.
	HalfWidth float32 `json:"half_width"`
	// Up is the unit vector along the quad's height; Right × Up faces the viewer.
	Up Vec3 `json:"up"`
	// HalfHeight is half the quad's height in metres.
	HalfHeight float32 `json:"half_height"`
	// Rect is where the surface lands on the framebuffer, in pixels.
	Rect Rect `json:"rect"`
	// Damage is the part of Rect (surface-local pixels) that changed since
	// the last composition; meaningful only while SurfaceDamaged is set.
	Damage Rect `json:"damage"`
	// Owner is OwnerRayOS or the Guest.Number of the guest whose desktop
	// this is.
	Owner uint32 `json:"owner"`
	// Flags holds SurfaceVisible, SurfacePresented, SurfaceDamaged and
	// SurfaceSystem.
	Flags uint32 `json:"flags"`
	// Layer groups surfaces (0 desktop, 1 windows, 2 overlays); composition
	// sorts by Layer, then Z.
	Layer uint32 `json:"layer"`
	// Pad keeps the struct a multiple of 16 bytes for std430 arrays.
	Pad uint32 `json:"-"`
}

// Title names a RayOS surface: the compositor writes it in the surface's
// title bar (system surfaces show it on their face). A guest desktop's
// title is never its own: RayOS writes the guest's registry id and state.
type Title struct {
	Text string `json:"text"`
}
