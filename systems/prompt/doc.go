// Package prompt makes RayOS's shell bar a command line at the keyboard.
// A RayOS booted on bare hardware has no guest to type into: the person in
// front of it talks to RayOS itself, by typing a sentence and pressing
// Enter, and RayOS answers it as it answers any typed text.
//
// Two tick systems share the package:
//
//   - prompt-focus (after attention, before the input broker) gives the
//     keyboard to the prompt surface whenever nothing else has it: at
//     first boot, with no guest shown, when gaze hits nothing.
//   - prompt (after the input broker, before intent) edits the line from
//     the prompt surface's key events (a US keymap with Shift and Caps
//     Lock, Backspace, Escape), shows it in the surface's Title, and on
//     Enter makes a text Input entity that the intent system resolves in
//     the same tick, with the Enter key's sequence number. From the next
//     tick until the next key it shows RayOS's answer after the line,
//     read from the world (answer.go): the envelope resolved from the
//     line, or the intent system's Replies for a line that made none.
//
// The submitted line is made inside the world, never fed through the
// Inbox: the journal already holds the keys that typed it, so a replay
// types it again and gets the same markers. See docs/input.md, "RayOS's
// prompt".
package prompt
