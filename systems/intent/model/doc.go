// Package model is the attention model that picks the guest an utterance
// means when the user did not name one exactly ("hide it", "show that",
// "start the browser").
//
// Start with [Candidate]: what the world knows about one possible target.
// [Candidate.Features] turns it into a [Features] vector in roughly [0,1];
// [Model.Probabilities] scores every candidate of one utterance and writes
// the softmax over them. The tick calls it, so it is a hand-written loop
// that allocates nothing.
//
// Models come from [Default] (the weights embedded in the binary, trained
// by `rayos train attention`), [Load] (a weights file) or [Geometry] (the
// baseline that looks at gaze, nearness and dwell only). [Model.Save]
// writes a weights file crash-safely.
//
// The package imports neither the world nor gorgonia: training lives in
// systems/intent/model/train, outside the tick's path. docs/attention.md
// describes the features, the model and the weights file.
package model
