package keys

import (
	"fmt"
	"slices"
	"strings"
)

// MaxChord is the most keys one chord may hold: libvirt's send-key takes
// at most 16 codes at once (VIR_DOMAIN_SEND_KEY_MAX_KEYS).
const MaxChord = 16

// maxChordText bounds what Chord reads, so a careless caller's megabyte
// never reaches the did-you-mean search.
const maxChordText = 256

// Chord turns keys joined by "+" ("ctrl+alt+delete", "Shift+F10",
// "enter") into the codes pressed together, in the order written. A name
// that is no key is an error that names it and the closest names; so is
// an empty part ("ctrl+"), a key written twice, or more than [MaxChord]
// keys.
func Chord(text string) ([]uint32, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("missing key")
	}
	if len(text) > maxChordText {
		return nil, fmt.Errorf("key chord is %d bytes, longer than %d", len(text), maxChordText)
	}
	parts := strings.Split(text, "+")
	if len(parts) > MaxChord {
		return nil, fmt.Errorf("chord %q has %d keys, more than %d", text, len(parts), MaxChord)
	}
	chord := make([]uint32, 0, len(parts))
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("empty key name in %q", text)
		}
		c, ok := Code(p)
		if !ok {
			return nil, UnknownKeyError{Name: p, Closest: Closest(p, 3)}
		}
		if slices.Contains(chord, c) {
			return nil, fmt.Errorf("key %q twice in %q", strings.TrimSpace(p), text)
		}
		chord = append(chord, c)
	}
	return chord, nil
}

// UnknownKeyError is a name that is no key, with the closest names.
type UnknownKeyError struct {
	Name    string
	Closest []string
}

func (e UnknownKeyError) Error() string {
	if len(e.Closest) == 0 {
		return fmt.Sprintf("unknown key %q (rayos ctl keys lists them)", e.Name)
	}
	return fmt.Sprintf("unknown key %q (did you mean %s?)", e.Name, strings.Join(e.Closest, ", "))
}
