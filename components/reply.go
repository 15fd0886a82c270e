package components

// Replies is a world resource: the intent system's answers, in the tick
// it last ran, to the utterances it made no IntentEnvelope for — typed or
// spoken lines it could not act on ("did you mean …") and typed recalls.
// Those answers are otherwise only RAYOS_INTENT markers, an output; this
// is how a system that shows them (RayOS's prompt, which runs before
// intent in the next tick) reads them as world data. Utterances that did
// make an envelope are answered by the envelope's Status and Detail.
// The intent system empties it at the start of its every run.
type Replies struct {
	Replies []Reply
}

// Reply is one answer in Replies.
type Reply struct {
	// Source is the Input.Seq of the utterance answered.
	Source uint64
	// Action is ActionRecall for a recall, 0 for an utterance that
	// resolved to nothing.
	Action IntentAction
	// Text is the answer in words: why nothing was done and what the user
	// could say instead, or a recall's best source.
	Text string
}
