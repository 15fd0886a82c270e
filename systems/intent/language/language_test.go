package language_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/intent/language"
)

// oldCommand and oldParse are the reading systems/intent used before this
// package (systems/intent.Parse as of commit ce5aff7), kept frozen as
// the reference the explicit form must match.
type oldCommand struct {
	Action          components.IntentAction
	Guest, Argument string
}

func oldParse(line string, isGuest func(string) bool) (oldCommand, error) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return oldCommand{}, errors.New("empty command")
	}
	var cmd oldCommand
	for a, name := range components.IntentActionNames[:components.LastGoverned+1] {
		if name != "" && strings.EqualFold(name, words[0]) {
			cmd.Action = components.IntentAction(a)
		}
	}
	if cmd.Action == 0 {
		return oldCommand{}, fmt.Errorf("unknown action %q", words[0])
	}
	needsTarget := cmd.Action != components.ActionConfirm && cmd.Action != components.ActionCancel
	needsArgument := cmd.Action == components.ActionType || cmd.Action == components.ActionPress || cmd.Action == components.ActionMouse
	rest := words[1:]
	if needsTarget && len(rest) > 0 && isGuest(rest[0]) {
		cmd.Guest, rest = rest[0], rest[1:]
	}
	cmd.Argument = strings.Join(rest, " ")
	if needsArgument && cmd.Argument == "" {
		return oldCommand{}, fmt.Errorf("%s needs an argument", words[0])
	}
	if !needsTarget && cmd.Argument != "" {
		if _, err := strconv.ParseUint(cmd.Argument, 10, 64); err != nil || len(rest) > 1 {
			return oldCommand{}, fmt.Errorf("%s: %q is not a request id", words[0], cmd.Argument)
		}
	} else if !needsArgument && cmd.Argument != "" {
		return oldCommand{}, fmt.Errorf("%s: unexpected %q (not a known guest)", words[0], cmd.Argument)
	}
	return cmd, nil
}

// Journals replay: every line the old reading accepts with a valid
// argument reads the same here, with certainty 1.
func TestExplicitFormAsBefore(t *testing.T) {
	isGuest := func(w string) bool {
		return slices.ContainsFunc(vocab.Guests, func(g language.Guest) bool { return g.ID == w })
	}
	verbs := []string{"start", "present", "hide", "shutdown", "type", "press", "mouse", "click", "confirm", "cancel", "suspend", "resume", "START", "Hide"}
	targets := []string{"", "linux", "win11", "web-dev"}
	args := []string{"", "enter", "ctrl+alt+delete", "hello world", "10 20", "-5 7", "right", "17", "f12"}
	n := 0
	for _, v := range verbs {
		for _, g := range targets {
			for _, a := range args {
				line := strings.Join(strings.Fields(v+" "+g+" "+a), " ")
				old, err := oldParse(line, isGuest)
				if err != nil {
					continue
				}
				if old.Action == components.ActionPress && a != "enter" && a != "ctrl+alt+delete" && a != "f12" {
					continue // the guest worker refused it; the language answers it instead
				}
				if old.Action == components.ActionMouse && a != "10 20" && a != "-5 7" {
					continue
				}
				n++
				r := language.Parse(line, vocab)
				c := r.Command
				guest := ""
				if c.Target.Kind == language.TargetNamed {
					guest = c.Target.Guest
				}
				if r.Err != language.OK || c.Action != old.Action || guest != old.Guest || c.Argument != old.Argument || c.Certainty != 1 {
					t.Errorf("%q: old %+v, now %s (certainty %v, err %v)", line, old, command(c), c.Certainty, r.Err)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d explicit lines checked", n)
	}
}

// A suggestion is a command the user can type: parsing it gives the
// command it stands for, with certainty 1 when it names a guest.
func TestSuggestionsParse(t *testing.T) {
	for _, u := range []string{"strat linux", "shwo windows", "press entr", "show web", "stat linux", "close it", "hied it", "start linx", "press ctrl+alt+delet"} {
		r := language.Parse(u, vocab)
		if len(r.Suggestions) == 0 {
			t.Errorf("%q: no suggestion", u)
			continue
		}
		for _, s := range r.Suggestions {
			again := language.Parse(s, vocab)
			if again.Err != language.OK || again.Command.Certainty < 0.8 {
				t.Errorf("%q suggests %q, which reads as %s (certainty %v, err %v)", u, s, command(again.Command), again.Command.Certainty, again.Err)
			}
		}
	}
}

// Misspelled and ambiguous commands are never as certain as exact ones,
// and never dropped: they still hold an action.
func TestFuzzyIsLessCertain(t *testing.T) {
	exact := language.Parse("start linux", vocab).Command.Certainty
	for _, u := range []string{"strat linux", "start linx", "stat linux", "show web"} {
		r := language.Parse(u, vocab)
		if r.Command.Action == 0 || r.Command.Certainty >= exact || r.Command.Certainty <= 0 {
			t.Errorf("%q: %s certainty %v (exact %v)", u, command(r.Command), r.Command.Certainty, exact)
		}
	}
	if r := language.Parse("show web", vocab); len(r.Alternatives) == 0 {
		t.Error("show web: ambiguity without the other reading")
	}
}

func TestNameMatch(t *testing.T) {
	linux, win, dev := vocab.Guests[0], vocab.Guests[1], vocab.Guests[2]
	for _, c := range []struct {
		words  []string
		g      language.Guest
		lo, hi float32
	}{
		{[]string{"linux"}, linux, 1, 1},
		{[]string{"LINUX"}, linux, 1, 1},
		{[]string{"the", "linux", "desktop"}, linux, 1, 1},
		{[]string{"windows"}, win, 0.7, 0.95},
		{[]string{"ubuntu"}, linux, 0.7, 0.95},
		{[]string{"linx"}, linux, 0.6, 0.8},
		{[]string{"win"}, win, 0.6, 0.95},
		{[]string{"firefox", "browser"}, dev, 0.8, 0.95},
		{[]string{"browser"}, linux, 0, 0},
		{[]string{"the", "desktop"}, linux, 0, 0},
		{nil, linux, 0, 0},
		{[]string{strings.Repeat("x", 10000)}, linux, 0, 0},
	} {
		got := language.NameMatch(c.words, c.g)
		if got < c.lo || got > c.hi {
			t.Errorf("NameMatch(%q, %s) = %v, want [%v, %v]", c.words, c.g.ID, got, c.lo, c.hi)
		}
	}
	if language.NameMatch([]string{"linux"}, language.Guest{}) != 0 {
		t.Error("a guest without an id matched")
	}
}

// Hostile input: each is answered, none panics, the answer is one line.
func TestBadInput(t *testing.T) {
	for _, u := range []string{"", "\x00", "\xc3\x28", strings.Repeat("a", language.MaxUtterance+1), "start \u2028 linux", "\t", "please please"} {
		r := language.Parse(u, vocab)
		if r.Err == language.OK || r.Detail == "" || strings.ContainsAny(r.Detail, "\n\r") || r.Command.Certainty != 0 {
			t.Errorf("%q: err %v detail %q certainty %v", u, r.Err, r.Detail, r.Command.Certainty)
		}
	}
	// At the limit is still read.
	long := "type " + strings.Repeat("a", language.MaxUtterance-5)
	if r := language.Parse(long, vocab); r.Err != language.OK || len(r.Command.Argument) != language.MaxUtterance-5 {
		t.Errorf("a %d-byte utterance: %v", len(long), r.Err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"start linux", "shwo windows", "press ctrl+alt+delete", "type \"x\"", "confirm 17", "move the mouse to 1,2 on it", "\x00", "what's running?", "right-click", "open my browser please"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := language.Parse(s, vocab)
		check := func(c language.Command) {
			if c.Certainty < 0 || c.Certainty > 1 || c.Certainty != c.Certainty {
				t.Fatalf("%q: certainty %v", s, c.Certainty)
			}
		}
		check(r.Command)
		for _, a := range r.Alternatives {
			check(a)
		}
		if r.Err != language.OK && r.Command.Certainty != 0 {
			t.Fatalf("%q: error %v with certainty %v", s, r.Err, r.Command.Certainty)
		}
		if r.Err == language.OK && r.Command.Action == 0 {
			t.Fatalf("%q: no error and no action", s)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	utterances := []string{"start linux", "show the linux desktop", "strat linux", "press ctrl+alt+delete", "open my browser please", "type hello world", "what's running?"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		language.Parse(utterances[i%len(utterances)], vocab)
	}
}

// The longest utterance Parse reads, every word a near miss: the bound
// on one parse.
func BenchmarkParseLongest(b *testing.B) {
	u := "show " + strings.Repeat("wndows ", (language.MaxUtterance-5)/7)
	b.ReportAllocs()
	for b.Loop() {
		language.Parse(u, vocab)
	}
}
