package components

// OSKind is the operating system a guest runs.
type OSKind uint8

// Guest operating systems.
const (
	OSLinux OSKind = iota + 1
	OSWindows
)

// GuestState is a guest VM's lifecycle state as RayOS last observed it.
type GuestState uint8

// Guest lifecycle states. Their names (GuestStateNames) are the <state> of
// RAYOS_GUEST markers.
const (
	GuestDefined GuestState = iota // known to the registry, not running
	GuestStarting
	GuestHidden    // running, its surface not on screen
	GuestPresented // running and shown as a RayOS surface; may receive input
	GuestSuspended
	GuestStopped
	GuestCrashed
)

// GuestStateNames maps each GuestState to its marker spelling.
var GuestStateNames = [...]string{
	GuestDefined:   "defined",
	GuestStarting:  "starting",
	GuestHidden:    "hidden",
	GuestPresented: "presented",
	GuestSuspended: "suspended",
	GuestStopped:   "stopped",
	GuestCrashed:   "crashed",
}

// OSKindNames maps each OSKind to its registry spelling.
var OSKindNames = [...]string{0: "unknown", OSLinux: "linux", OSWindows: "windows"}

// Guest is a managed VM. RayOS is authoritative over its lifecycle; the
// guest only ever appears on screen through its desktop Surface.
type Guest struct {
	// ID is the stable VM id from the registry ("linux", "win11", …).
	ID string `json:"id"`
	// Number is a small stable integer for the guest, used where a string
	// cannot go (Surface.Owner on the GPU). Never 0 (that is OwnerRayOS).
	Number uint32 `json:"number"`
	// OS is the guest operating system.
	OS OSKind `json:"os"`
	// State is the lifecycle state last observed.
	State GuestState `json:"state"`
	// Presented mirrors State == GuestPresented for quick gating reads.
	Presented bool `json:"presented"`
	// Ready is set once the guest signalled readiness (serial line, agent).
	Ready bool `json:"ready"`
	// Desktop is the surface that shows this guest's display.
	Desktop EntityRef `json:"desktop"`
	// Label is the guest's trust label (from the registry): the colour of
	// the border and title bar the compositor draws around its desktop.
	Label TrustLabel `json:"label"`
	// Permitted is what the policy in force does not deny this guest
	// (inputs as if it were presented, at full confidence). The policy gate
	// rewrites it whenever the policy changes; effects check it again at
	// the moment they carry an intent out, so that a reload that revokes
	// something is obeyed by work already decided.
	Permitted ActionSet `json:"permitted"`
}

// TrustLabel is a guest's trust label, shown as the colour of its window
// decoration (as Qubes OS labels its qubes). A guest cannot choose or
// imitate it: the compositor draws the decoration around the guest's
// pixels.
type TrustLabel uint32

// Trust labels, from least to most trusted by convention; LabelRed is the
// default (guests are untrusted).
const (
	LabelRed TrustLabel = iota
	LabelOrange
	LabelYellow
	LabelGreen
	LabelGray
	LabelBlue
	LabelPurple
	LabelBlack
)

// TrustLabelNames are the labels' names in the registry.
var TrustLabelNames = [...]string{LabelRed: "red", LabelOrange: "orange", LabelYellow: "yellow", LabelGreen: "green",
	LabelGray: "gray", LabelBlue: "blue", LabelPurple: "purple", LabelBlack: "black"}

// ParseTrustLabel returns the label named name.
func ParseTrustLabel(name string) (TrustLabel, bool) {
	for i, n := range TrustLabelNames {
		if n == name {
			return TrustLabel(i), true
		}
	}
	return 0, false
}
