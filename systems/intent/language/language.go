package language

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rayos/engine/components"
)

// MaxUtterance is the longest utterance Parse reads, in bytes. A spoken
// or typed command is a sentence; 512 bytes is several, and bounds the
// fuzzy matching (its cost grows with the words times the vocabulary).
const MaxUtterance = 512

// Guest is what the language knows of one guest: its id, its operating
// system and the words of its title and label.
type Guest struct {
	ID    string
	OS    string   // "linux", "windows", or "" when unknown
	Words []string // title and label words ("Ubuntu", "Desktop", "trusted")
}

// Vocabulary is what an utterance may name.
type Vocabulary struct {
	Guests []Guest
}

// TargetKind is how an utterance refers to its target.
type TargetKind uint8

// Target kinds.
const (
	TargetNone      TargetKind = iota // no target said: the focus decides
	TargetNamed                       // a guest by its id ("linux", or "linx" misspelled)
	TargetPronoun                     // "it", "that", "this one": the focus decides
	TargetDescribed                   // other words ("my browser"): matched against os and title
)

var targetKindNames = [...]string{"none", "named", "pronoun", "described"}

func (k TargetKind) String() string {
	if int(k) < len(targetKindNames) {
		return targetKindNames[k]
	}
	return fmt.Sprintf("TargetKind(%d)", k)
}

// Target is what an utterance said its command acts on.
type Target struct {
	Kind TargetKind
	// Guest is the named guest's id (Named), or for Described the guest
	// the words match best when one stands out ("" otherwise).
	Guest string
	// Words are the pronoun (Pronoun) or the describing words (Described).
	Words []string
}

// Command is one reading of an utterance.
type Command struct {
	Action components.IntentAction
	Target Target
	// Argument is the text to type, the key chord ("ctrl+alt+delete"),
	// the mouse position ("100 200"), the button ("right") or the request
	// id ("17"); "" when the action takes none.
	Argument string
	// Certainty is how sure the parse is, in [0,1]: 1 for the explicit
	// form and exact phrasing, lower for misspelled, fuzzy or ambiguous
	// words (docs/language.md says how it is computed).
	Certainty float32
}

// ErrorKind says why an utterance gives no command to act on.
type ErrorKind uint8

// Error kinds.
const (
	OK              ErrorKind = iota
	ErrEmpty                  // nothing but spaces or polite filler
	ErrTooLong                // longer than MaxUtterance bytes
	ErrBinary                 // not UTF-8, or a control character
	ErrUnknownWords           // words that are no command (or left over after one)
	ErrBadArgument            // the action is clear, its argument missing or wrong
)

var errorKindNames = [...]string{"ok", "empty", "too-long", "binary", "unknown-words", "bad-argument"}

func (e ErrorKind) String() string {
	if int(e) < len(errorKindNames) {
		return errorKindNames[e]
	}
	return fmt.Sprintf("ErrorKind(%d)", e)
}

// Result is what Parse understood of an utterance.
type Result struct {
	// Command is the best reading. When Err is set it holds what was
	// understood (Action 0 if no action was) with Certainty 0: it is for
	// the answer, not something to act on.
	Command Command
	// Alternatives are the other readings, most certain first.
	Alternatives []Command
	// Suggestions are the "did you mean" answers: commands the user could
	// type as they are, best first.
	Suggestions []string
	// Understood and Unknown are the words Parse could and could not place.
	Understood []string
	Unknown    []string
	Err        ErrorKind
	// Detail is one line for the user when Err is set.
	Detail string
}

// Parse reads one utterance. It never fails: bad input is a Result with
// Err set and a Detail that says why.
func Parse(utterance string, v Vocabulary) Result {
	if len(utterance) > MaxUtterance {
		return Result{Err: ErrTooLong, Detail: fmt.Sprintf("utterance is %d bytes, longer than %d", len(utterance), MaxUtterance)}
	}
	if !utf8.ValidString(utterance) {
		return Result{Err: ErrBinary, Detail: "utterance is not UTF-8 text"}
	}
	for i, r := range utterance {
		if r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError) {
			return Result{Err: ErrBinary, Detail: fmt.Sprintf("control character %U at byte %d", r, i)}
		}
	}
	if strings.TrimSpace(utterance) == "" {
		return Result{Err: ErrEmpty, Detail: "nothing said"}
	}
	if cmd, ok := explicit(utterance, v); ok {
		return Result{Command: cmd, Understood: strings.Fields(utterance)}
	}
	r := natural(utterance, v)
	if r.Err != OK {
		// What an error holds is for the answer, never to act on.
		r.Command.Certainty = 0
	}
	r.Command.Certainty = round(r.Command.Certainty)
	for i := range r.Alternatives {
		r.Alternatives[i].Certainty = round(r.Alternatives[i].Certainty)
	}
	if r.Err == OK && r.Command.Certainty < 1 && len(r.Suggestions) == 0 {
		r.Suggestions = appendUnique(r.Suggestions, Phrase(r.Command))
		for _, alt := range r.Alternatives {
			r.Suggestions = appendUnique(r.Suggestions, Phrase(alt))
		}
	}
	return r
}

// round keeps two decimals, clamped to [0,1], so that certainties
// compare and print the same on every machine.
func round(c float32) float32 {
	return float32(math.Round(float64(min(max(c, 0), 1))*100) / 100)
}

func appendUnique(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

// Phrase writes a command the way a user could type it: the action, the
// guest or the describing words, the argument ("show linux", "press
// ctrl+alt+delete", "confirm 17"). Parsing it again gives the same
// command.
func Phrase(c Command) string {
	var b strings.Builder
	b.WriteString(verbWord(c.Action))
	switch c.Target.Kind {
	case TargetNamed:
		b.WriteString(" " + c.Target.Guest)
	case TargetPronoun, TargetDescribed:
		if c.Target.Kind == TargetDescribed && c.Target.Guest != "" {
			b.WriteString(" " + c.Target.Guest)
		} else {
			b.WriteString(" " + strings.Join(c.Target.Words, " "))
		}
	}
	if c.Argument != "" {
		b.WriteString(" " + c.Argument)
	}
	return b.String()
}

// verbWord is the word a suggestion uses for an action: its explicit
// spelling, except "show" for present (what people say).
func verbWord(a components.IntentAction) string {
	if a == components.ActionPresent {
		return "show"
	}
	if int(a) < len(components.IntentActionNames) && components.IntentActionNames[a] != "" {
		return components.IntentActionNames[a]
	}
	return "status"
}
