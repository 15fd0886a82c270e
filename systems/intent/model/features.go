package model

import "math"

// NumFeatures is the length of a Features vector.
const NumFeatures = 6

// Indices into Features, in the order the weights file lists them.
const (
	FeatGaze   = iota // saturated summed gaze weight
	FeatNear          // nearness of the nearest gazing ray's hit
	FeatDwell         // how long focus has rested on the candidate
	FeatRecent        // how recently the candidate was an intent's target
	FeatName          // how well the words name the candidate
	FeatState         // how well the action suits the candidate's state
)

// FeatureNames are the features' names in index order, as the weights
// file writes them.
var FeatureNames = [NumFeatures]string{"gaze", "near", "dwell", "recent", "name", "state"}

// Features is one candidate's normalised feature vector.
type Features [NumFeatures]float32

// Candidate is what the world knows about one possible target when an
// utterance is resolved.
type Candidate struct {
	Gaze       float32 // summed current weight (after fade) of attention rays whose hit is one of the candidate's surfaces; 0 when none
	HitT       float32 // distance (metres, scene space) along the nearest such ray; 0 when none
	DwellTicks uint64  // ticks the world's Focus has rested on one of its surfaces; 0 when not focused
	IdleTicks  uint64  // ticks since it was last the target of an intent; math.MaxUint64 if never
	Name       float32 // [0,1] how well the utterance's words name it (1 = its id/os/title said exactly, 0 = nothing said about it)
	StateFit   float32 // [0,1] how well the action suits its state (1: "start" a stopped guest, "hide" a presented one; 0: "hide" a stopped one)
}

// Time scales of the normalisation, in seconds. They are part of the
// model's contract: weights trained with them are only meaningful with them.
const (
	// DwellScale: dwell d seconds maps to 1-exp(-d/DwellScale); half a
	// second of dwell is worth 0.63, two seconds 0.98.
	DwellScale = 0.5
	// RecentScale: idle i seconds maps to exp(-i/RecentScale); the target
	// of an intent 10 s ago is worth 0.37, a minute ago 0.0025.
	RecentScale = 10.0
)

// Features normalises c into roughly [0,1] at a tick rate of hz:
//
//   - gaze: 1-exp(-Gaze), saturating so that many rays on one surface
//     cannot drown every other feature;
//   - near: 1/(1+HitT) when some ray hits the candidate, else 0;
//   - dwell: 1-exp(-seconds/DwellScale);
//   - recent: exp(-seconds/RecentScale), 0 if never a target;
//   - name, state: clamped to [0,1].
//
// Negative, NaN or infinite inputs count as 0 (infinite HitT: no
// nearness), so a careless caller gets a finite vector. With hz not a
// positive finite number, time cannot be measured: dwell is 0 and recency
// is 1 only for IdleTicks 0.
func (c Candidate) Features(hz float64) Features {
	var f Features
	if g := sane(c.Gaze); g > 0 {
		f[FeatGaze] = float32(-math.Expm1(-float64(g)))
		f[FeatNear] = float32(1 / (1 + float64(sane(c.HitT))))
	}
	timed := hz > 0 && !math.IsInf(hz, 1) && !math.IsNaN(hz)
	if timed && c.DwellTicks > 0 {
		f[FeatDwell] = float32(-math.Expm1(-float64(c.DwellTicks) / hz / DwellScale))
	}
	switch {
	case c.IdleTicks == math.MaxUint64:
	case c.IdleTicks == 0:
		f[FeatRecent] = 1
	case timed:
		f[FeatRecent] = float32(math.Exp(-float64(c.IdleTicks) / hz / RecentScale))
	}
	f[FeatName] = unit(c.Name)
	f[FeatState] = unit(c.StateFit)
	return f
}

// sane maps NaN and negatives to 0 (an +Inf HitT then gives nearness 0,
// an +Inf Gaze saturates to 1).
func sane(v float32) float32 {
	if !(v > 0) { // also NaN
		return 0
	}
	return v
}

func unit(v float32) float32 {
	if !(v > 0) {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}
