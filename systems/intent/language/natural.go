package language

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world/keys"
)

// Certainty factors; docs/language.md explains them.
const (
	fuzzyVerb1     = 0.6 // the action word one edit from a known one ("strat")
	fuzzyVerb2     = 0.4 // two edits ("sttart" → start)
	ambiguousVerb  = 0.5 // a word as close to two actions
	ambiguousGuest = 0.4 // words that name two guests about as well
	describedClear = 0.9 // words that describe one guest clearly ("windows" for win11)
	describedNone  = 0.6 // words that match no guest: left to the resolver
	fuzzyKey       = 0.5 // a misspelled key read as the closest one
	leftOver       = 0.5 // words after a command that takes none
	clearMargin    = 0.1 // how much better the best guest must match than the next
)

// natural reads plain words.
func natural(s string, v Vocabulary) Result {
	toks := tokenize(s)
	var r Result
	// Leading filler ("could you please …") goes, unless a phrase starts
	// with it ("do it", "go ahead").
	var ph phrase
	n := 0
	matched := false
	for len(toks) > 0 {
		if ph, n, matched = matchPhrase(toks); matched || !filler[toks[0].norm] {
			break
		}
		toks = toks[1:]
	}
	if len(toks) == 0 {
		return Result{Err: ErrEmpty, Detail: "only polite words: say what to do (start, show, hide, type, press …)"}
	}
	verbCert := ph.base
	var alts []components.IntentAction
	if matched {
		r.Understood = append(r.Understood, joinNorm(toks[:n]))
		if ph.alt != 0 {
			alts = append(alts, ph.alt)
		}
	} else {
		cands, d := fuzzyVerbs(toks[0].norm)
		if len(cands) == 0 {
			return unknownVerb(toks, v)
		}
		ph, n = cands[0], 1
		verbCert = fuzzyVerb1
		if d == 2 {
			verbCert = fuzzyVerb2
		}
		for _, c := range cands[1:] {
			alts = append(alts, c.action)
		}
		if len(alts) > 0 {
			verbCert *= ambiguousVerb
		}
		r.Unknown = append(r.Unknown, toks[0].norm)
	}
	verbEnd := toks[n-1].end
	rest := toks[n:]
	cmd := Command{Action: ph.action, Certainty: verbCert}
	var guestAlts []Target
	switch ph.action {
	case components.ActionType:
		if !typeArgument(s, verbEnd, rest, v, &cmd) {
			return bad(r, cmd, "type needs the text to type: type hello world")
		}
	case components.ActionPress:
		if msg := pressArgument(rest, v, &cmd, &r); msg != "" {
			return bad(r, cmd, msg)
		}
	case components.ActionMouse:
		if msg := mouseArgument(rest, v, &cmd, &guestAlts); msg != "" {
			return bad(r, cmd, msg)
		}
	case components.ActionClick:
		cmd.Argument = ph.button
		var words []token
		for _, t := range rest {
			if t.norm == "right" || t.norm == "left" || t.norm == "middle" {
				if cmd.Argument == "" || cmd.Argument == t.norm {
					cmd.Argument = t.norm
					continue
				}
			}
			if t.norm == "button" || t.norm == "click" {
				continue
			}
			words = append(words, t)
		}
		guestAlts = target(words, v, &cmd)
	case components.ActionConfirm, components.ActionCancel, components.ActionPending:
		var left []string
		for _, t := range rest {
			id := strings.TrimPrefix(t.norm, "#")
			if _, err := strconv.ParseUint(id, 10, 64); err == nil && cmd.Argument == "" && ph.action != components.ActionPending {
				cmd.Argument = id
				continue
			}
			if filler[t.norm] || pronouns[t.norm] || t.norm == "request" || t.norm == "number" || t.norm == "id" ||
				t.norm == "is" || t.norm == "are" || t.norm == "there" || t.norm == "requests" || t.norm == "waiting" {
				continue
			}
			left = append(left, t.norm)
		}
		if len(left) > 0 {
			cmd.Certainty *= leftOver
			r.Command, r.Err, r.Unknown = cmd, ErrUnknownWords, append(r.Unknown, left...)
			r.Understood = append(r.Understood, Phrase(cmd))
			r.Suggestions = []string{Phrase(cmd)}
			r.Detail = fmt.Sprintf("understood %q; did not understand %s", Phrase(cmd), quoteAll(left))
			return r
		}
	case components.ActionRecall:
		if !recallArgument(s, rest, &cmd) {
			return bad(r, cmd, "recall needs what to look for: find my notes about the kernel")
		}
	case components.ActionStatus:
		var words []token
		for _, t := range rest {
			if t.norm == "running" || t.norm == "doing" || t.norm == "is" || t.norm == "are" || t.norm == "ok" ||
				t.norm == "all" || t.norm == "guests" || t.norm == "of" || t.norm == "everything" {
				continue
			}
			words = append(words, t)
		}
		guestAlts = target(words, v, &cmd)
	default:
		guestAlts = target(rest, v, &cmd)
	}
	if cmd.Target.Kind == TargetNamed || cmd.Target.Kind == TargetDescribed && cmd.Target.Guest != "" {
		r.Understood = append(r.Understood, cmd.Target.Guest)
	}
	r.Command = cmd
	for _, a := range alts {
		alt := cmd
		alt.Action = a
		alt.Certainty = cmd.Certainty * 0.9
		r.Alternatives = append(r.Alternatives, alt)
	}
	for _, t := range guestAlts {
		alt := cmd
		alt.Target = t
		r.Alternatives = append(r.Alternatives, alt)
	}
	return r
}

func bad(r Result, cmd Command, msg string) Result {
	r.Command, r.Err, r.Detail = cmd, ErrBadArgument, msg
	return r
}

func tokensNorm(toks []token) []string {
	w := make([]string, len(toks))
	for i, t := range toks {
		w[i] = t.norm
	}
	return w
}

func joinNorm(toks []token) string {
	w := make([]string, len(toks))
	for i, t := range toks {
		w[i] = t.norm
	}
	return strings.Join(w, " ")
}

func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return strings.Join(q, ", ")
}

// fuzzyLimit is how many edits a word of this length may be from the
// word it misspells: none under 3 letters (too many short words are one
// edit apart), one up to 5, two from 6.
func fuzzyLimit(word string) int {
	switch n := len([]rune(word)); {
	case n < 3:
		return 0
	case n < 6:
		return 1
	default:
		return 2
	}
}

// fuzzyVerbs returns the one-word phrases nearest to a misspelled word,
// one per action (ties in phrase order), and their distance.
func fuzzyVerbs(word string) ([]phrase, int) {
	limit := fuzzyLimit(word)
	if limit == 0 || len(word) > 32 {
		return nil, 0
	}
	best := limit + 1
	var out []phrase
	for _, ph := range verbWords {
		d := keys.Distance(word, ph.words[0])
		if d > limit || d > best {
			continue
		}
		if d < best {
			best, out = d, out[:0]
		}
		if !slices.ContainsFunc(out, func(o phrase) bool { return o.action == ph.action }) {
			out = append(out, ph)
		}
	}
	return out, best
}

// unknownVerb answers an utterance whose first word is no action: what
// was understood after it and the commands it might have meant.
func unknownVerb(toks []token, v Vocabulary) Result {
	var cmd Command
	if isGuestFold(v, toks[0].norm) || pronouns[toks[0].norm] {
		// Only a target ("linux"): say what could be done with it.
		target(toks, v, &cmd)
		r := Result{Err: ErrUnknownWords, Command: cmd, Unknown: tokensNorm(toks[1:])}
		for _, a := range []components.IntentAction{components.ActionPresent, components.ActionStart, components.ActionStatus} {
			c := cmd
			c.Action = a
			r.Suggestions = append(r.Suggestions, Phrase(c))
		}
		r.Detail = fmt.Sprintf("no action: say what to do with %q (show, start, hide, status …)", toks[0].norm)
		return r
	}
	r := Result{Err: ErrUnknownWords, Unknown: []string{toks[0].norm}}
	target(toks[1:], v, &cmd)
	if cmd.Target.Kind == TargetNamed || cmd.Target.Kind == TargetDescribed && cmd.Target.Guest != "" {
		r.Understood = append(r.Understood, cmd.Target.Guest)
	}
	// Looser than a misspelling: anything within half the word.
	type near struct {
		a components.IntentAction
		d int
	}
	var nears []near
	w := toks[0].norm
	if len(w) <= 32 {
		for _, ph := range verbWords {
			d := keys.Distance(w, ph.words[0])
			if d > max(2, len([]rune(w))/2) {
				continue
			}
			i := slices.IndexFunc(nears, func(n near) bool { return n.a == ph.action })
			if i < 0 {
				nears = append(nears, near{ph.action, d})
			} else if d < nears[i].d {
				nears[i].d = d
			}
		}
	}
	slices.SortStableFunc(nears, func(a, b near) int { return a.d - b.d })
	for _, n := range nears[:min(2, len(nears))] {
		c := cmd
		c.Action = n.a
		r.Suggestions = appendUnique(r.Suggestions, Phrase(c))
	}
	if len(r.Suggestions) == 0 && cmd.Target.Kind == TargetNamed {
		for _, a := range []components.IntentAction{components.ActionPresent, components.ActionStatus} {
			c := cmd
			c.Action = a
			r.Suggestions = append(r.Suggestions, Phrase(c))
		}
	}
	r.Command = cmd
	if len(r.Understood) > 0 {
		r.Detail = fmt.Sprintf("did not understand %q (understood: %s)", toks[0].norm, strings.Join(r.Understood, ", "))
	} else {
		r.Detail = fmt.Sprintf("did not understand %q", toks[0].norm)
	}
	return r
}

// target reads the words that say what the command acts on into cmd
// (its Target, and its certainty) and returns the other guests they
// could name when they are ambiguous.
func target(toks []token, v Vocabulary, cmd *Command) []Target {
	var words []string
	for _, t := range toks {
		if !filler[t.norm] {
			words = append(words, t.norm)
		}
	}
	if kept := slices.DeleteFunc(slices.Clone(words), func(w string) bool { return noise[w] }); len(kept) > 0 {
		words = kept
	}
	if len(words) == 0 {
		return nil
	}
	if slices.ContainsFunc(words, func(w string) bool { return pronouns[w] }) && !slices.ContainsFunc(words, func(w string) bool { return !pronouns[w] }) {
		cmd.Target = Target{Kind: TargetPronoun, Words: words}
		return nil
	}
	// Exact ids first: the user named a guest.
	var named []string
	for _, w := range words {
		for _, g := range v.Guests {
			if strings.EqualFold(w, g.ID) && !slices.Contains(named, g.ID) {
				named = append(named, g.ID)
			}
		}
	}
	if len(named) > 0 {
		cmd.Target = Target{Kind: TargetNamed, Guest: named[0]}
		var alts []Target
		for _, id := range named[1:] {
			alts = append(alts, Target{Kind: TargetNamed, Guest: id})
		}
		if len(alts) > 0 {
			cmd.Certainty *= ambiguousGuest
		}
		return alts
	}
	// Then how well the words name each guest.
	type scored struct {
		g     Guest
		s     float32
		viaID bool
	}
	var all []scored
	for _, g := range v.Guests {
		s, viaID := match(words, g)
		if s > 0 {
			all = append(all, scored{g, s, viaID})
		}
	}
	slices.SortStableFunc(all, func(a, b scored) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	if len(all) == 0 || all[0].s < 0.5 {
		cmd.Target = Target{Kind: TargetDescribed, Words: words}
		cmd.Certainty *= describedNone
		return nil
	}
	best := all[0]
	// A guest within the margin of the best is as likely (the small
	// epsilon keeps float32 sums like 0.9-0.1 from deciding).
	if len(all) > 1 && all[1].s > best.s-clearMargin+1e-4 {
		cmd.Target = Target{Kind: TargetNamed, Guest: best.g.ID}
		cmd.Certainty *= ambiguousGuest
		var alts []Target
		for _, o := range all[1:] {
			if o.s > best.s-clearMargin+1e-4 {
				alts = append(alts, Target{Kind: TargetNamed, Guest: o.g.ID})
			}
		}
		return alts
	}
	if best.viaID {
		cmd.Target = Target{Kind: TargetNamed, Guest: best.g.ID}
		cmd.Certainty *= best.s
		return nil
	}
	cmd.Target = Target{Kind: TargetDescribed, Guest: best.g.ID, Words: words}
	cmd.Certainty *= describedClear
	return nil
}

// trailingTarget splits "… on linux" / "… into it" off the end of toks.
func trailingTarget(toks []token, v Vocabulary) (body, tgt []token) {
	if len(toks) >= 2 {
		last, prep := toks[len(toks)-1], toks[len(toks)-2].norm
		if (prep == "on" || prep == "in" || prep == "into" || prep == "to") && (isGuestFold(v, last.norm) || pronouns[last.norm]) {
			return toks[:len(toks)-2], toks[len(toks)-1:]
		}
	}
	return toks, nil
}

func isGuestFold(v Vocabulary, word string) bool {
	for _, g := range v.Guests {
		if strings.EqualFold(g.ID, word) {
			return true
		}
	}
	return false
}

// typeArgument takes the raw text after the verb, all of it (a guest
// id right after the verb names the target): quotes around it are not
// typed.
func typeArgument(s string, verbEnd int, rest []token, v Vocabulary, cmd *Command) bool {
	if len(rest) == 0 {
		return false
	}
	raw := strings.TrimSpace(s[verbEnd:])
	if isGuestFold(v, rest[0].norm) && len(rest) > 1 {
		// "type linux hello", as in the explicit form.
		target(rest[:1], v, cmd)
		raw = strings.TrimSpace(s[rest[0].end:])
	}
	if inner, ok := quoted(raw); ok {
		cmd.Argument = inner
	} else {
		cmd.Argument = strings.Join(strings.Fields(raw), " ")
	}
	return cmd.Argument != ""
}

// pressWords are the words around key names that are not keys.
var pressWords = set("the", "key", "keys", "button", "please", "together", "combination", "combo", "and", "then")

// pressArgument reads a key chord: "ctrl+alt+delete", "ctrl alt del",
// "the enter key". A misspelled key reads as the closest one, with less
// certainty.
func pressArgument(rest []token, v Vocabulary, cmd *Command, r *Result) string {
	body, tgt := trailingTarget(rest, v)
	var names []string
	for _, t := range body {
		if pressWords[t.norm] {
			continue
		}
		if isGuestFold(v, t.norm) && len(tgt) == 0 {
			tgt = []token{t}
			continue
		}
		names = append(names, t.norm)
	}
	if len(names) == 0 {
		return "press needs a key: press enter, press ctrl+alt+delete (rayos ctl keys lists them)"
	}
	chord := strings.Join(names, "+")
	target(tgt, v, cmd)
	if _, err := keys.Chord(chord); err != nil {
		var unknown keys.UnknownKeyError
		if !errors.As(err, &unknown) || len(unknown.Closest) == 0 {
			return err.Error()
		}
		fixed := strings.Replace(chord, unknown.Name, unknown.Closest[0], 1)
		if _, err := keys.Chord(fixed); err != nil {
			return err.Error()
		}
		r.Unknown = append(r.Unknown, unknown.Name)
		chord = fixed
		cmd.Certainty *= fuzzyKey
	}
	cmd.Argument = chord
	return ""
}

// mouseWords are the words around a position.
var mouseWords = set("to", "at", "the", "position", "coordinates", "x", "y", "pointer", "cursor", "mouse", "and", "by", "point")

func mouseArgument(rest []token, v Vocabulary, cmd *Command, alts *[]Target) string {
	var nums []string
	var words []token
	for _, t := range rest {
		parts := strings.Split(t.norm, ",")
		allNum := true
		for _, p := range parts {
			if p == "" {
				continue
			}
			if _, err := strconv.ParseInt(p, 10, 32); err != nil {
				allNum = false
			}
		}
		if allNum {
			for _, p := range parts {
				if p != "" {
					nums = append(nums, p)
				}
			}
			continue
		}
		if !mouseWords[t.norm] {
			words = append(words, t)
		}
	}
	if len(nums) != 2 {
		return "mouse needs X and Y: move the mouse to 100 200"
	}
	cmd.Argument = nums[0] + " " + nums[1]
	*alts = target(words, v, cmd)
	return ""
}

// recallArgument takes the query of a recall: the raw words after the
// phrase, without the leading "my notes about" and the like, whitespace
// folded, without a closing question mark or quotes around it.
func recallArgument(s string, rest []token, cmd *Command) bool {
	for len(rest) > 0 && recallLead[rest[0].norm] {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return false
	}
	raw := strings.TrimSpace(s[rest[0].start:])
	if inner, ok := quoted(raw); ok {
		raw = inner
	}
	raw = strings.TrimRight(raw, "?!. \t")
	cmd.Argument = strings.Join(strings.Fields(raw), " ")
	return cmd.Argument != ""
}
