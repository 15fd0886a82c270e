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
	// Answering says where RayOS's answer to Said is, and Answer is that
	// answer in a few words, as the bar shows it after the line: the
	// prompt system takes it from the world (the envelope resolved from
	// the line, or the intent system's Replies) and keeps looking while it
	// is not final.
	Answering PromptAnswer `json:"answering,omitempty"`
	Answer    string       `json:"answer,omitempty"`
}

// PromptAnswer is where the answer to a prompt's line is.
type PromptAnswer uint8

// Prompt answer states. A key that edits the line (a character, Backspace,
// Escape, Enter) puts the prompt back to PromptAnswerNone: the answer is
// shown until the next key.
const (
	// PromptAnswerNone: nothing to show (no line said since the last key).
	PromptAnswerNone PromptAnswer = iota
	// PromptAnswerWaiting: the line was said and its answer is not final
	// (not looked for yet, an effect running, a recall waiting for the
	// Volume, a confirmation asked); Answer says so, and is replaced when
	// the outcome comes.
	PromptAnswerWaiting
	// PromptAnswerFinal: Answer is the outcome; nothing more comes.
	PromptAnswerFinal
)
