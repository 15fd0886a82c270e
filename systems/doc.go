// Package systems is the parent of RayOS's tick systems, one package each:
//
//   - input: turns the inputs fed before a tick into Input entities.
//   - attention: ages attention rays, points them at fresh gaze, and finds
//     the surface the user is looking at (Focus).
//   - prompt: makes RayOS's shell bar a command line at the keyboard: it
//     has the keyboard when nothing else does, edits a line from its keys
//     and submits it as a text utterance on Enter.
//   - intent: resolves text and voice commands into IntentEnvelopes,
//     filling in an unnamed target from Focus.
//   - bridge: turns control-socket requests into host events and intents,
//     and answers each with exactly one ACK.
//   - policy: decides every pending intent (allow, deny, confirm).
//   - effects: carries out allowed intents (present/hide, hypervisor work).
//   - schedule: places compute tasks on devices by a sum of named cost
//     terms, and moves device load and temperature.
//   - compose: gives surfaces their pixels for the compose kernel.
//   - gpusync: collects last tick's GPU results and submits this tick's run.
//
// A system imports world and components, never another system; the order
// in which they run is fixed in boot.Pipeline and printed by
// `rayos boot --explain`.
package systems
