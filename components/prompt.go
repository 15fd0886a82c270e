package components

// MaxPromptLine bounds Prompt.Line in bytes: the intent language's longest
// utterance (language.MaxUtterance), so that a line the prompt accepts is
// never one the language refuses as too long.
const MaxPromptLine = 512

// Prompt makes a RayOS surface (the shell bar) RayOS's own command line
// at the keyboard: the prompt system edits Line from the surface's key
// events and, on Enter, submits it as a text utterance. The surface shows
// the line in its Title. See docs/input.md, "RayOS's prompt".
type Prompt struct {
	// Label is what the surface says when the prompt is idle ("RayOS");
	// the line is written after it.
	Label string `json:"label"`
	// Line is the text typed and not yet submitted, at most MaxPromptLine
	// bytes of printable ASCII.
	Line string `json:"line,omitempty"`
	// CapsLock is the Caps Lock state as the prompt's keys toggled it.
	CapsLock bool `json:"caps_lock,omitempty"`
	// Refused counts the keys refused since the line last changed because
	// the line was full; the surface says so while it is not zero.
	Refused uint32 `json:"refused,omitempty"`
	// Said is the last line submitted and Seq the sequence number it was
	// submitted with (the Enter key's): its RAYOS_INTENT marker's source.
	Said string `json:"said,omitempty"`
	Seq  uint64 `json:"seq,omitempty"`
}
