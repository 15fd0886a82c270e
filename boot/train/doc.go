// Package train fits the attention model's weights (systems/intent/model)
// from journals: `rayos train attention`.
//
// [Collect] replays a journal through the real pipeline and gathers every
// utterance the intent system resolved with candidates; [ReadLabels] and
// [DeriveLabels] say which candidate was meant; [Fit] minimises the
// softmax cross-entropy with gorgonia's autodiff; [Evaluate] scores a
// model on held-out examples against the geometry-only baseline and the
// focused candidate. [Synthesize] writes a synthetic journal and its
// labels, from which the default weights are trained.
//
// gorgonia lives here only: the tick runs the model's hand-written
// forward pass, and [Forward] (gorgonia's) exists to check it.
package train
