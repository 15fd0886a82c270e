// Package language is the language of RayOS: plain words to commands.
//
// [Parse] reads one utterance ("show the linux desktop", "press
// ctrl+alt+delete", "strat linux") against a [Vocabulary] of the guests
// and returns a [Result]: the best [Command] (action, [Target], argument
// and a [Command.Certainty] in [0,1]), the other readings, and "did you
// mean" suggestions phrased as commands the user could type. Bad input
// (empty, over-long, binary, unknown words) is an [ErrorKind] with an
// answer that says what was understood. [NameMatch] scores how well words
// name a guest; the attention model takes it as a feature.
//
// The explicit form "<action> [guest] [argument]" that journals hold is
// read exactly as systems/intent always read it, with certainty 1, so
// journals replay the same.
//
// The package holds pure functions: no world, no ECS, no allocation that
// outlives a call. It runs once per utterance, not per tick. What it
// understands and how certainty is computed is in docs/language.md.
package language
