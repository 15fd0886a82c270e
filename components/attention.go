package components

import "time"

// GazeHalfLife is how long an un-refreshed gaze takes to lose half its
// weight: long enough to survive a blink or a saccade, short enough that a
// glance away moves focus within a second or two. An AttentionRay's
// weight now is Weight × 2^(−age / GazeHalfLife).
const GazeHalfLife = time.Second

// AttentionRay is where one gaze source is looking, with a weight that
// decays while no fresh gaze input refreshes it. The decay is implicit —
// the weight now is Weight × the decay factor for the ticks since Since —
// so a ray that is only fading does not change, and neither re-uploads
// to the GPU nor has its hit test re-run.
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
//	    44  Since      uint
type AttentionRay struct {
	// Origin is the eye position in scene space (metres).
	Origin Vec3 `json:"origin"`
	// Weight in [0, 1] is the weight at tick Since (1 for a fresh gaze);
	// the weight at a later tick decays from it (attention.Fade). 0 means
	// inactive: the ray has faded out.
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
	// Since is the tick at which Weight was set (truncated to 32 bits).
	Since uint32 `json:"since"`
}

// FocusCause says what gave a surface the focus.
type FocusCause uint8

// Focus causes; FocusCauseNames gives their spelling.
const (
	FocusNone    FocusCause = iota // nothing is focused
	FocusGaze                      // the strongest attention ray hits it
	FocusPointer                   // a pointer button was pressed over it
	FocusPrompt                    // nothing else had it: RayOS's prompt (systems/prompt)
)

// FocusCauseNames maps each FocusCause to its spelling.
var FocusCauseNames = [...]string{FocusNone: "none", FocusGaze: "gaze", FocusPointer: "pointer", FocusPrompt: "prompt"}

// Focus is the world resource that says what the user is attending to:
// the surface last clicked, or the surface hit by the strongest attention
// ray. Whichever happened last wins: a click focuses at once; gaze moves a
// clicked focus only to a surface the gaze newly settled on after the
// click and held for the gaze dwell (attention.GazeDwell), and never
// clears it. Intent resolution uses it to fill in a target the user did
// not name ("present" while looking at the Linux desktop); the input
// broker routes keys and pointer motion to it.
type Focus struct {
	// Surface is the focused surface, or the zero ref when nothing is hit.
	Surface EntityRef `json:"surface"`
	// Owner is that surface's Surface.Owner.
	Owner uint32 `json:"owner"`
	// Weight is the focusing ray's weight, in [0, 1] (1 for a click).
	Weight float32 `json:"weight"`
	// Since is the tick at which this surface became focused.
	Since uint64 `json:"since"`
	// By is what gave the focus; At is the tick of that event (a click on
	// the surface already focused renews At, not Since).
	By FocusCause `json:"by,omitempty"`
	At uint64     `json:"at,omitempty"`
	// Gaze is the surface the strongest attention ray hits now (the zero
	// ref when none), and GazeSince the tick it became the gaze target.
	// While a click holds the focus they may differ from Surface.
	Gaze      EntityRef `json:"gaze,omitempty"`
	GazeSince uint64    `json:"gaze_since,omitempty"`
}
