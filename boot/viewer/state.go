package viewer

import (
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
)

// State is the world summary ("t":"state"), published at most every
// StateInterval while a client is connected. Its slices are reused from
// publication to publication.
type State struct {
	T     string  `json:"t"`
	Mode  string  `json:"mode"`
	Tick  uint64  `json:"tick"`
	SimNs int64   `json:"sim_ns"`
	Hz    float64 `json:"hz"`
	Scene string  `json:"scene"`
	Seed  uint64  `json:"seed"`
	// Rate is the ticks per second measured over the last half second.
	Rate   float64 `json:"rate"`
	Paused bool    `json:"paused"`
	// End is a replayed journal's last tick (0 otherwise); Ended says the
	// run is over and this is its last state.
	End      uint64        `json:"end,omitempty"`
	Ended    bool          `json:"ended"`
	Entities int           `json:"entities"`
	Kinds    []KindCount   `json:"kinds"`
	TickNs   Timing        `json:"tick_ns"`
	Systems  []SystemTime  `json:"systems"`
	Policy   string        `json:"policy"`
	Guests   []GuestInfo   `json:"guests"`
	Pending  []PendingInfo `json:"pending"`
	Frame    FrameInfo     `json:"frame"`
	Surfaces []SurfaceInfo `json:"surfaces"`
	Focus    FocusInfo     `json:"focus"`
	// Rays are the heaviest MaxRays attention rays that hit a surface,
	// where they hit it on the frame; RayCount counts every ray.
	Rays     []RayInfo  `json:"rays"`
	RayCount int        `json:"ray_count"`
	GPU      GPUInfo    `json:"gpu"`
	Sched    SchedInfo  `json:"sched"`
	Viewer   ViewerInfo `json:"viewer"`
}

// SchedInfo is the scheduler's migration counts (components.SchedStats):
// per reason, in the last tick and since boot, and how many devices are
// hot. Empty without a scheduler.
type SchedInfo struct {
	Migrations []MigrationCount `json:"migrations"`
	Hot        int              `json:"hot"`
}

// MigrationCount is one migration reason's count.
type MigrationCount struct {
	Reason string `json:"reason"`
	Last   uint64 `json:"last"`
	Total  uint64 `json:"total"`
}

// KindCount is how many entities have one component kind.
type KindCount struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Timing is one duration's last, largest and mean value, in nanoseconds.
type Timing struct {
	Last int64 `json:"last"`
	Max  int64 `json:"max"`
	Mean int64 `json:"mean"`
}

// SystemTime is one system's Timing.
type SystemTime struct {
	Name string `json:"name"`
	Timing
}

// GuestInfo is one guest with what the policy in force decides for each
// action on it, now.
type GuestInfo struct {
	Entity    Ref            `json:"entity"`
	ID        string         `json:"id"`
	OS        string         `json:"os"`
	State     string         `json:"state"`
	Presented bool           `json:"presented"`
	Ready     bool           `json:"ready"`
	Decisions []DecisionInfo `json:"decisions"`
}

// DecisionInfo is the policy's verdict on one action and the deciding
// rule, as `rayos policy explain` says it.
type DecisionInfo struct {
	Action  string `json:"action"`
	Verdict string `json:"verdict"`
	Rule    string `json:"rule"`
	Why     string `json:"why"`
}

// PendingInfo is a request waiting for confirmation.
type PendingInfo struct {
	Source  uint64 `json:"source"`
	Action  string `json:"action"`
	Guest   string `json:"guest"`
	Rule    string `json:"rule"`
	Client  uint32 `json:"client"`
	Expires uint64 `json:"expires"`
}

// FrameInfo is the frame's size and the version of it the viewer holds:
// a client whose frame messages brought it to Version shows the frame
// this state describes.
type FrameInfo struct {
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Version uint64 `json:"version"`
}

// SurfaceInfo is a surface's place on the frame.
type SurfaceInfo struct {
	Entity  Ref     `json:"entity"`
	X       int32   `json:"x"`
	Y       int32   `json:"y"`
	W       int32   `json:"w"`
	H       int32   `json:"h"`
	Owner   uint32  `json:"owner"`
	Layer   uint32  `json:"layer"`
	Flags   uint32  `json:"flags"`
	Z       float32 `json:"z"`
	Guest   string  `json:"guest,omitempty"`
	Focused bool    `json:"focused"`
}

// FocusInfo is the focused surface.
type FocusInfo struct {
	Surface Ref     `json:"surface"`
	Owner   uint32  `json:"owner"`
	Weight  float32 `json:"weight"`
	Since   uint64  `json:"since"`
}

// RayInfo is where an attention ray hits the frame.
type RayInfo struct {
	Entity  Ref     `json:"entity"`
	X       float32 `json:"x"`
	Y       float32 `json:"y"`
	Weight  float32 `json:"weight"`
	Surface Ref     `json:"surface"`
}

// GPUInfo is the backend and what the last tick moved.
type GPUInfo struct {
	Backend     string `json:"backend"`
	Device      string `json:"device"`
	Upload      uint64 `json:"upload"`
	Read        uint64 `json:"read"`
	Composed    bool   `json:"composed"`
	Placed      bool   `json:"placed"`
	ResultsTick uint64 `json:"results_tick"`
	// LastCompose is the last composition: what it recomposed (damaged
	// tiles only).
	LastCompose ComposeInfo `json:"last_compose"`
}

// ComposeInfo is one composition's statistics: the tick that submitted
// it, the damaged tiles and the frame pixels in them it recomposed, and
// the compose kernel's device time (GPU timestamps; 0 where the backend
// does not time programs).
type ComposeInfo struct {
	Tick     uint64 `json:"tick"`
	Tiles    int    `json:"tiles"`
	Pixels   int    `json:"pixels"`
	DeviceNs int64  `json:"device_ns"`
}

// ViewerInfo is the viewer's own health.
type ViewerInfo struct {
	Clients int `json:"clients"`
	// MarkersMissed counts markers the viewer did not get (its
	// subscription was full); PublishSkipped the ticks whose publication
	// waited because the hub was behind.
	MarkersMissed  uint64 `json:"markers_missed"`
	PublishSkipped uint64 `json:"publish_skipped"`
}

// Placement is the placement map ("t":"placement"): every device (up to
// MaxDevices) and a sample of the tasks, evenly spread over them all,
// published every PlacementInterval.
type Placement struct {
	T         string       `json:"t"`
	Tick      uint64       `json:"tick"`
	Devices   []DeviceInfo `json:"devices"`
	Tasks     []TaskInfo   `json:"tasks"`
	TaskCount int          `json:"task_count"`
}

// Bounds of what one publication carries.
const (
	MaxSurfaces = 1024
	MaxRays     = 256
	MaxDevices  = 4096
	TaskSample  = 512
)

// DeviceInfo is one device in fabric space.
type DeviceInfo struct {
	Entity      Ref        `json:"entity"`
	Pos         [3]float32 `json:"pos"`
	Capacity    float32    `json:"capacity"`
	Load        float32    `json:"load"`
	Temperature float32    `json:"temperature"`
	EnergyCost  float32    `json:"energy_cost"`
	Kind        uint32     `json:"kind"`
	Slot        uint32     `json:"slot"`
}

// TaskInfo is one task of the sample: where it wants to run (its
// affinity) and the device it runs on (an entity id; 0: unplaced).
type TaskInfo struct {
	Entity Ref        `json:"entity"`
	Pos    [3]float32 `json:"pos"`
	Demand float32    `json:"demand"`
	Device uint32     `json:"device"`
	Cost   float32    `json:"cost"`
}

// MarkersMsg carries markers ("t":"markers"): new ones, or on connect
// the last historySize (History).
type MarkersMsg struct {
	T       string       `json:"t"`
	Items   []MarkerItem `json:"items"`
	History bool         `json:"history,omitempty"`
}

// MarkerItem is one marker: Seq numbers markers in the order the viewer
// got them; Tick is the tick during which it was emitted (0: boot); Kind
// its prefix.
type MarkerItem struct {
	Seq    uint64   `json:"seq"`
	Tick   uint64   `json:"tick"`
	Kind   string   `json:"kind"`
	Fields []string `json:"fields"`
	Line   string   `json:"line"`
}

// EntitiesReply answers an entities query: rows from Offset on, in the
// world's query order (archetype by archetype), and where to continue.
// A search examines at most SearchBudget entities per request (Scanned);
// More says whether there is more to see from Next.
type EntitiesReply struct {
	Kind    string      `json:"kind"`
	Search  string      `json:"search"`
	Total   int         `json:"total"`
	Offset  int         `json:"offset"`
	Next    int         `json:"next"`
	Scanned int         `json:"scanned"`
	More    bool        `json:"more"`
	Rows    []EntityRow `json:"rows"`
}

// EntityRow is one entity in the browser.
type EntityRow struct {
	Entity Ref      `json:"entity"`
	Kinds  []string `json:"kinds"`
	Label  string   `json:"label"`
}

// EntityReply is one entity's component values, by kind.
type EntityReply struct {
	Entity     Ref            `json:"entity"`
	Kinds      []string       `json:"kinds"`
	Components map[string]any `json:"components"`
}

// TaskReply explains a task's placement: the terms it was placed with,
// what staying on its device costs now, and the runner-up — the cheapest
// other device where it fits now — computed on demand with
// gpu.PlacementTerms, as the place kernel would.
type TaskReply struct {
	Entity Ref `json:"entity"`
	// Name is the task's name (a guest's vCPU: "linux/vcpu0"), "" for a
	// synthetic task; Migration its last move and why, when recorded.
	Name      string                 `json:"name,omitempty"`
	Migration *components.Migration  `json:"migration,omitempty"`
	Task      components.ComputeTask `json:"task"`
	Placement components.Placement   `json:"placement"`
	Device    *DeviceInfo            `json:"device"`
	Stay      *components.Placement  `json:"stay"`
	RunnerUp  *Choice                `json:"runner_up"`
	Evaluated int                    `json:"evaluated"`
	Fits      int                    `json:"fits"`
	Weights   gpu.Weights            `json:"weights"`
}

// Choice is a device and the task's cost terms on it.
type Choice struct {
	Device DeviceInfo           `json:"device"`
	Terms  components.Placement `json:"terms"`
}
