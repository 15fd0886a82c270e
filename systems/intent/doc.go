// Package intent resolves what the user said or typed — text and voice
// inputs, and the control socket's "say" requests — into IntentEnvelopes.
// It never acts: an envelope starts Pending and waits for the policy gate.
//
// The words are the language package's (plain words, "show the linux
// desktop", and the explicit "<action> [guest] [argument]" journals use).
// A named guest is the target; "it", "that", a description or nothing at
// all leave the choice to the attention model (package model), which
// scores every guest from what the world knows — gaze, dwell, recency,
// how well the words name it, whether the action suits its state. The
// envelope's confidence is the parse's certainty times the model's
// probability, so an unsure reading asks for confirmation under the
// policy's intent.min_confidence instead of acting. Every utterance is
// answered with a RAYOS_INTENT marker, including the ones it cannot
// resolve ("did you mean …").
//
// A recall ("find my notes about the kernel") is a read of the Volume
// and is never answered on the tick it is said: it asks through the
// [Retrievals] resource, waits (bounded, with a deadline in ticks), and
// is finished by the answer the runtime feeds back as an InputRetrieval
// (recall.go) — so a replay needs no Volume.
package intent
