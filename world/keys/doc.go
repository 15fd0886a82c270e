// Package keys is RayOS's keyboard vocabulary: Linux input key codes
// (linux/input-event-codes.h, the codeset libvirt's send-key takes) by
// name, with the aliases people type ("ctrl", "del", "win").
//
// Start with [Chord] ("ctrl+alt+delete" → the codes pressed together),
// [Text] (text → one chord per character on a US keyboard) and [Code]
// (one name). [Names] lists every accepted name, for `rayos ctl keys` and
// shell completion; [Closest] and [Distance] give the did-you-mean
// answers for a name that is not one.
//
// The package is pure Go with no dependencies so that the host bridge,
// the guest supervisor and the language layer share one table.
package keys
