package prompt_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rayos/engine/systems/prompt"
	"pgregory.net/rapid"
)

// typist is what a person at the keyboard expects the line to be: a
// model of the prompt's editing, kept apart from the systems.
type typist struct {
	shift, ctrl, caps bool
	line              string
}

func (m *typist) char(lower, upper byte, letter bool) {
	if m.ctrl || len(m.line) >= prompt.MaxLine {
		return
	}
	c := lower
	if m.shift != (letter && m.caps) {
		c = upper
	}
	m.line += string(c)
}

// Under random typing, split into ticks at random: the line is always the
// one the model expects, at most MaxLine bytes of printable ASCII; every
// Enter on a line with something on it is answered by exactly one
// RAYOS_INTENT marker with the Enter key's sequence number, and nothing
// else is.
func TestRandomTypingKeepsTheLineAndAnswersEveryEnter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := newPromptWorld(t)
		p.tick()
		var m typist
		var want []string // the sources of the utterances expected, in order
		var got []string
		for range rapid.IntRange(1, 30).Draw(t, "ticks") {
			for range rapid.IntRange(0, 12).Draw(t, "keys") {
				switch op := rapid.SampledFrom([]string{"a", "b", "space", "slash", "shift", "unshift", "ctrl", "unctrl",
					"caps", "backspace", "esc", "enter", "f1", "many"}).Draw(t, "op"); op {
				case "a":
					p.tap(30)
					m.char('a', 'A', true)
				case "b":
					p.tap(48)
					m.char('b', 'B', true)
				case "space":
					p.tap(57)
					m.char(' ', ' ', false)
				case "slash":
					p.tap(53)
					m.char('/', '?', false)
				case "many":
					for range rapid.IntRange(100, 600).Draw(t, "n") {
						p.tap(30)
						m.char('a', 'A', true)
					}
				case "shift", "unshift":
					p.key(keyShift, op == "shift")
					m.shift = op == "shift"
				case "ctrl", "unctrl":
					p.key(keyCtrl, op == "ctrl")
					m.ctrl = op == "ctrl"
				case "caps":
					p.tap(keyCapsLock)
					m.caps = !m.caps
				case "backspace":
					p.tap(keyBackspace)
					if m.line != "" {
						m.line = m.line[:len(m.line)-1]
					}
				case "esc":
					p.tap(keyEsc)
					m.line = ""
				case "enter":
					seq := p.tap(keyEnter)
					if strings.TrimSpace(m.line) != "" {
						want = append(want, fmt.Sprint(seq))
					}
					m.line = ""
				case "f1":
					p.tap(59)
				}
			}
			for _, l := range intents(p.tick()) {
				got = append(got, strings.Split(l, ":")[1])
			}
			line := p.line()
			if line != m.line {
				t.Fatalf("line %q, want %q", line, m.line)
			}
			if len(line) > prompt.MaxLine {
				t.Fatalf("line of %d bytes", len(line))
			}
			for i := 0; i < len(line); i++ {
				if line[i] < ' ' || line[i] > '~' {
					t.Fatalf("line holds byte %#x: %q", line[i], line)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("answered sources %v, want %v", got, want)
		}
	})
}
