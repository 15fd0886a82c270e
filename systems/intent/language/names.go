package language

import (
	"strings"
	"unicode"

	"github.com/rayos/engine/world/keys"
)

// Scores of one word against a guest's names (docs/language.md).
const (
	scoreID      = 1    // the guest's id itself
	scoreIDPart  = 0.8  // a part of the id ("web" in "web-dev") or the os
	scoreTitle   = 0.75 // a title or label word
	scoreFuzzyID = 0.7  // the id misspelled by one edit (0.1 less per further edit)
	scorePrefix  = 0.6  // the start of a name word ("win" for windows)
	scoreFuzzy   = 0.5  // another name word misspelled
	scoreMore    = 0.1  // each further word that also matches
	scoreMax     = 0.95 // words that match without the id stay below it
)

// NameMatch is how well words name a guest, in [0,1]: 1 when a word is
// its id, less for a part of the id, its os, a title or label word, the
// start of one, or a misspelling; 0 when nothing matches. Polite and
// generic words ("the", "desktop") count for nothing.
func NameMatch(words []string, g Guest) float32 {
	s, _ := match(words, g)
	return s
}

// match scores words against a guest; viaID is whether the best word
// matched the id (exact, part or misspelled) rather than os or title.
func match(words []string, g Guest) (score float32, viaID bool) {
	id := strings.ToLower(g.ID)
	if id == "" {
		return 0, false
	}
	n := names{id: id, parts: splitName(id), os: strings.ToLower(g.OS)}
	for _, w := range g.Words {
		n.title = append(n.title, splitName(strings.ToLower(w))...)
	}
	hits := 0
	for _, w := range words {
		w = strings.ToLower(w)
		if w == "" || len(w) > 64 || filler[w] || noise[w] && w != id {
			continue
		}
		if w == id {
			return scoreID, true
		}
		s, via := n.score(w)
		if s > 0 {
			hits++
		}
		if s > score {
			score, viaID = s, via
		}
	}
	if hits > 1 {
		score = min(score+scoreMore*float32(hits-1), scoreMax)
	}
	return score, viaID
}

// names are a guest's names, lower case.
type names struct {
	id    string
	parts []string // the id's words
	os    string
	title []string // title and label words
}

// score is the best score of one word against the names, and whether it
// came from the id.
func (n names) score(w string) (best float32, viaID bool) {
	try := func(s float32, isID bool) {
		if s > best {
			best, viaID = s, isID
		}
	}
	limit := fuzzyLimit(w)
	if limit > 0 {
		if d := keys.Distance(w, n.id); d <= limit {
			try(scoreFuzzyID-0.1*float32(d-1), true)
		}
	}
	near := func(name string, exact float32, isID bool) {
		switch {
		case name == "":
		case w == name:
			try(exact, isID)
		case len(w) >= 3 && strings.HasPrefix(name, w):
			try(scorePrefix, false)
		case limit > 0 && keys.Distance(w, name) <= limit:
			try(scoreFuzzy, false)
		}
	}
	for _, p := range n.parts {
		near(p, scoreIDPart, true)
	}
	near(n.os, scoreIDPart, false)
	for _, t := range n.title {
		near(t, scoreTitle, false)
	}
	return best, viaID
}

// splitName cuts a name into its words: at anything not a letter or a
// digit, and between letters and digits ("win11" → win, 11).
func splitName(s string) []string {
	var out []string
	start := -1
	var prevDigit bool
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		digit := unicode.IsDigit(r)
		if start >= 0 && (!word || digit != prevDigit) {
			out = append(out, s[start:i])
			start = -1
		}
		if word && start < 0 {
			start = i
		}
		prevDigit = digit
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}
