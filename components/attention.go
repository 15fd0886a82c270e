package components

// AttentionRay is where one gaze source is looking, with a weight that
// decays while no fresh gaze input refreshes it.
//
// GPU-mirrored, std430, 48 bytes:
//
//	offset  field
//	     0  Origin     vec3
//	    12  Weight     float
//	    16  Direction  vec3
//	    28  Source     uint
//	    32  Hit        uint
//	    36  HitT       float
//	    40  Device     uint
//	    44  Pad        uint
type AttentionRay struct {
	// Origin is the eye position in scene space (metres).
	Origin Vec3 `json:"origin"`
	// Weight in [0, 1]: 1 when fresh, decaying each tick; 0 means inactive.
	Weight float32 `json:"weight"`
	// Direction is the unit view direction.
	Direction Vec3 `json:"direction"`
	// Source is the Input.Seq of the gaze event that last set the ray
	// (truncated to 32 bits for the GPU).
	Source uint32 `json:"source"`
	// Hit is the entity ID of the nearest surface the ray hits, or 0.
	Hit uint32 `json:"hit"`
	// HitT is the distance along Direction to that hit, in metres.
	HitT float32 `json:"hit_t"`
	// Device is the Input.Device of the gaze tracker this ray follows.
	Device uint32 `json:"device"`
	// Pad keeps the struct a multiple of 16 bytes.
	Pad uint32 `json:"-"`
}

// Focus is the world resource that says what the user is attending to: the
// surface hit by the strongest attention ray this tick. Intent resolution
// uses it to fill in a target the user did not name ("present" while
// looking at the Linux desktop).
type Focus struct {
	// Surface is the focused surface, or the zero ref when nothing is hit.
	Surface EntityRef `json:"surface"`
	// Owner is that surface's Surface.Owner.
	Owner uint32 `json:"owner"`
	// Weight is the focusing ray's weight, in [0, 1].
	Weight float32 `json:"weight"`
	// Since is the tick at which this surface became focused.
	Since uint64 `json:"since"`
}
