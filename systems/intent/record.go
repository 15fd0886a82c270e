package intent

import "github.com/rayos/engine/systems/intent/model"

// Recorder, installed as a world resource (ecs.AddResource(w.ECS,
// &intent.Recorder{})), receives every utterance's candidates as the
// intent system scored them: `rayos train attention` replays journals
// with one installed and learns from what the tick saw, so training and
// the tick can never disagree about a feature. Without one, nothing is
// recorded and nothing is allocated for it.
type Recorder struct {
	Utterances []Utterance
}

// Utterance is one resolution that weighed candidate targets.
type Utterance struct {
	// Source is the Input.Seq of the utterance, Tick the tick it was
	// resolved in.
	Source uint64
	Tick   uint64
	// Text is what was said.
	Text string
	// Names are the candidate guests' ids, in the order of Candidates.
	Names      []string
	Candidates []model.Candidate
	// Chosen is the index of the candidate the resolver chose, -1 for
	// none.
	Chosen int
}
