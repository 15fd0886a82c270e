package language

import (
	"strconv"
	"strings"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world/keys"
)

// explicit reads the form journals hold, "<action> [guest] [argument…]",
// exactly as systems/intent always has: the first word an action's
// explicit name, then a guest id if the action acts on one, then the
// rest as the argument. ok is false for anything that form refuses; the
// natural reading gets those.
func explicit(line string, v Vocabulary) (Command, bool) {
	words := strings.Fields(line)
	var cmd Command
	for a, name := range components.IntentActionNames {
		if name != "" && strings.EqualFold(name, words[0]) {
			cmd.Action = components.IntentAction(a)
		}
	}
	if cmd.Action == 0 || cmd.Action == components.ActionRecall {
		// A recall's query is read by the natural reading, which drops
		// "my notes about" whichever phrase began it.
		return Command{}, false
	}
	rest := words[1:]
	if needsTarget(cmd.Action) && len(rest) > 0 && isGuest(v, rest[0]) {
		cmd.Target = Target{Kind: TargetNamed, Guest: rest[0]}
		rest = rest[1:]
	}
	cmd.Argument = strings.Join(rest, " ")
	if needsArgument(cmd.Action) && cmd.Argument == "" {
		return Command{}, false
	}
	if !needsTarget(cmd.Action) && cmd.Argument != "" {
		if _, err := strconv.ParseUint(cmd.Argument, 10, 64); err != nil || len(rest) > 1 {
			return Command{}, false
		}
	} else if !needsArgument(cmd.Action) && cmd.Argument != "" {
		return Command{}, false
	}
	// What the old reading left to the guest worker to refuse (a key
	// that is none, a position that is not two numbers) goes to the
	// natural reading, which answers with the closest keys.
	if cmd.Action == components.ActionPress {
		if _, err := keys.Chord(cmd.Argument); err != nil {
			return Command{}, false
		}
	}
	if cmd.Action == components.ActionMouse {
		f := strings.Fields(cmd.Argument)
		if len(f) != 2 || !isInt(f[0]) || !isInt(f[1]) {
			return Command{}, false
		}
	}
	if cmd.Action == components.ActionType {
		// The one difference from the old reading: quotes around the
		// whole text are not typed ("type \"quoted text\"").
		if inner, ok := unquote(strings.TrimSpace(line[strings.Index(line, words[0])+len(words[0]):]), cmd.Target); ok {
			cmd.Argument = inner
		}
	}
	cmd.Certainty = 1
	return cmd, true
}

// unquote returns the text between quotes that wrap the whole of rest
// (after the guest id, when one was named).
func unquote(rest string, t Target) (string, bool) {
	if t.Kind == TargetNamed {
		rest = strings.TrimSpace(rest[len(t.Guest):])
	}
	return quoted(rest)
}

// quoted returns s without the matching quotes around it, if it has them.
func quoted(s string) (string, bool) {
	for _, q := range [][2]string{{`"`, `"`}, {`'`, `'`}, {"“", "”"}, {"‘", "’"}} {
		if len(s) >= len(q[0])+len(q[1]) && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			inner := s[len(q[0]) : len(s)-len(q[1])]
			if inner != "" && !strings.Contains(inner, q[0]) && !strings.Contains(inner, q[1]) {
				return inner, true
			}
		}
	}
	return "", false
}

// needsTarget is true for actions that act on a guest.
func needsTarget(a components.IntentAction) bool {
	return a != components.ActionConfirm && a != components.ActionCancel
}

// needsArgument is true for input-injection actions that need one.
func needsArgument(a components.IntentAction) bool {
	switch a {
	case components.ActionType, components.ActionPress, components.ActionMouse:
		return true
	}
	return false
}

func isGuest(v Vocabulary, word string) bool {
	for _, g := range v.Guests {
		if g.ID == word {
			return true
		}
	}
	return false
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 32)
	return err == nil
}
