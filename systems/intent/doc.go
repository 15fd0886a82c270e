// Package intent resolves what the user said or typed into IntentEnvelopes:
// "present linux", "type windows hello", or just "present" while looking at
// a guest's desktop. It never acts: an envelope starts Pending and waits
// for the policy gate.
//
// The grammar is [Parse]'s: an action word, an optional guest id, then the
// action's argument. When no guest is named, the target is the owner of the
// focused surface and the confidence is the focus weight.
package intent
