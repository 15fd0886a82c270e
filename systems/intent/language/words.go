package language

import (
	"strings"
	"unicode"

	"github.com/rayos/engine/components"
)

// token is one word of an utterance: norm is lower-case without the
// punctuation around it; start and end are its bytes in the utterance
// (the raw text to type is cut from there).
type token struct {
	norm       string
	start, end int
}

// contractions are expanded so that "what's running" reads as "what is
// running".
var contractions = map[string][]string{
	"what's": {"what", "is"}, "whats": {"what", "is"}, "that's": {"that", "is"}, "it's": {"it", "is"},
	"i'd": {"i", "would"}, "let's": {"let", "us"}, "don't": {"do", "not"}, "what're": {"what", "are"},
}

// hyphenated words split when they are a phrase written with a hyphen
// ("right-click", "shut-down"); other hyphens belong to the word (a guest
// id like "web-dev").
var hyphenHeads = map[string]bool{"right": true, "left": true, "middle": true, "shut": true, "turn": true,
	"power": true, "wake": true, "bring": true, "switch": true, "double": true}

func tokenize(s string) []token {
	var toks []token
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		if j > i {
			toks = appendWord(toks, s[i:j], i, j)
		}
		i = j
	}
	return toks
}

func appendWord(toks []token, raw string, start, end int) []token {
	norm := strings.ToLower(strings.TrimFunc(raw, func(r rune) bool {
		return r != '+' && r != '#' && r != '-' && (unicode.IsPunct(r) || unicode.IsSymbol(r))
	}))
	norm = strings.ReplaceAll(norm, "’", "'")
	if norm == "" {
		return toks
	}
	if parts, ok := contractions[norm]; ok {
		for _, p := range parts {
			toks = append(toks, token{p, start, end})
		}
		return toks
	}
	if head, tail, ok := strings.Cut(norm, "-"); ok && hyphenHeads[head] && tail != "" {
		return append(toks, token{head, start, end}, token{tail, start, end})
	}
	return append(toks, token{norm, start, end})
}

// filler is polite or empty words, ignored wherever they are (outside
// the text to type).
var filler = set("please", "pls", "plz", "could", "can", "would", "will", "you", "kindly", "just", "now",
	"for", "me", "i", "want", "like", "to", "the", "a", "an", "my", "our", "your", "thanks", "thank",
	"hey", "hi", "rayos", "quickly", "again", "up", "let", "us", "do", "go", "ahead", "then", "and")

// noise are generic nouns that name no guest in particular ("the linux
// desktop", "the windows vm"): dropped when other words remain.
var noise = set("vm", "vms", "machine", "virtual", "guest", "desktop", "window", "screen", "computer", "box",
	"system", "one", "on", "in", "into", "at", "of", "please", "session", "instance")

var pronouns = set("it", "that", "this", "them", "there", "current", "same")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// phrase is one way to say an action; words are matched in order at the
// start of the utterance (after leading filler). base is the certainty
// of the phrase itself: below 1 when it often means something else too
// (alt names that reading).
type phrase struct {
	words  []string
	action components.IntentAction
	base   float32
	button string                  // click phrases: the button they name
	alt    components.IntentAction // the other reading of an unsure phrase
}

func p(action components.IntentAction, text string) phrase {
	return phrase{words: strings.Fields(text), action: action, base: 1}
}

func unsure(action components.IntentAction, text string, base float32, alt components.IntentAction) phrase {
	return phrase{words: strings.Fields(text), action: action, base: base, alt: alt}
}

func click(text, button string) phrase {
	return phrase{words: strings.Fields(text), action: components.ActionClick, base: 1, button: button}
}

// phrases is the whole verb vocabulary; the longest match wins.
var phrases = []phrase{
	p(components.ActionStart, "start"), p(components.ActionStart, "boot"), p(components.ActionStart, "launch"),
	p(components.ActionStart, "power on"), p(components.ActionStart, "turn on"), p(components.ActionStart, "spin up"),
	p(components.ActionStart, "fire up"),
	p(components.ActionPresent, "present"), p(components.ActionPresent, "show"), p(components.ActionPresent, "display"),
	p(components.ActionPresent, "bring up"), p(components.ActionPresent, "bring"), p(components.ActionPresent, "switch to"),
	p(components.ActionPresent, "go to"), p(components.ActionPresent, "focus"), p(components.ActionPresent, "view"),
	p(components.ActionPresent, "raise"), p(components.ActionPresent, "look at"),
	unsure(components.ActionPresent, "open", 0.9, components.ActionStart),
	p(components.ActionHide, "hide"), p(components.ActionHide, "minimize"), p(components.ActionHide, "minimise"),
	p(components.ActionHide, "dismiss"), p(components.ActionHide, "put away"),
	unsure(components.ActionHide, "close", 0.8, components.ActionShutdown),
	p(components.ActionShutdown, "shutdown"), p(components.ActionShutdown, "shut down"), p(components.ActionShutdown, "turn off"),
	p(components.ActionShutdown, "power off"), p(components.ActionShutdown, "power down"), p(components.ActionShutdown, "halt"),
	unsure(components.ActionShutdown, "stop", 0.9, components.ActionSuspend),
	p(components.ActionSuspend, "suspend"), p(components.ActionSuspend, "pause"), p(components.ActionSuspend, "freeze"),
	p(components.ActionSuspend, "sleep"),
	p(components.ActionResume, "resume"), p(components.ActionResume, "unpause"), p(components.ActionResume, "continue"),
	p(components.ActionResume, "wake"), p(components.ActionResume, "thaw"), p(components.ActionResume, "unfreeze"),
	p(components.ActionType, "type"), p(components.ActionType, "write"),
	p(components.ActionPress, "press"), p(components.ActionPress, "hit"), p(components.ActionPress, "push"),
	p(components.ActionMouse, "mouse"), p(components.ActionMouse, "move the mouse"), p(components.ActionMouse, "move mouse"),
	p(components.ActionMouse, "move the pointer"), p(components.ActionMouse, "move pointer"),
	p(components.ActionMouse, "move the cursor"), p(components.ActionMouse, "move cursor"), p(components.ActionMouse, "move"),
	p(components.ActionMouse, "point at"),
	click("click", ""), click("left click", "left"), click("right click", "right"), click("middle click", "middle"),
	click("tap", ""),
	p(components.ActionConfirm, "confirm"), p(components.ActionConfirm, "yes"), p(components.ActionConfirm, "yeah"),
	p(components.ActionConfirm, "yep"), p(components.ActionConfirm, "ok"), p(components.ActionConfirm, "okay"),
	p(components.ActionConfirm, "sure"), p(components.ActionConfirm, "approve"), p(components.ActionConfirm, "allow"),
	p(components.ActionConfirm, "accept"), p(components.ActionConfirm, "go ahead"), p(components.ActionConfirm, "do it"),
	p(components.ActionCancel, "cancel"), p(components.ActionCancel, "no"), p(components.ActionCancel, "nope"),
	p(components.ActionCancel, "deny"), p(components.ActionCancel, "abort"), p(components.ActionCancel, "reject"),
	p(components.ActionCancel, "never mind"), p(components.ActionCancel, "nevermind"), p(components.ActionCancel, "forget it"),
	p(components.ActionCancel, "do not"),
	p(components.ActionStatus, "status"), p(components.ActionStatus, "what is running"), p(components.ActionStatus, "what runs"),
	p(components.ActionStatus, "what is on"), p(components.ActionStatus, "what is the status"), p(components.ActionStatus, "show status"),
	p(components.ActionStatus, "show the status"), p(components.ActionStatus, "list"), p(components.ActionStatus, "how is"),
	p(components.ActionStatus, "how are"), p(components.ActionStatus, "state"), p(components.ActionStatus, "is"),
	p(components.ActionPending, "pending"), p(components.ActionPending, "what is waiting"), p(components.ActionPending, "what is pending"),
	p(components.ActionPending, "what waits"), p(components.ActionPending, "waiting"), p(components.ActionPending, "show pending"),
	p(components.ActionPending, "list pending"), p(components.ActionPending, "what needs confirmation"),
	// Recall reads the Volume: the rest of the utterance is the query
	// (recallArgument drops "my notes about" and the like). "open my
	// notes" and "show my notes" outweigh "open" and "show" by length.
	p(components.ActionRecall, "recall"), p(components.ActionRecall, "find"), p(components.ActionRecall, "search"),
	p(components.ActionRecall, "search for"), p(components.ActionRecall, "look up"), p(components.ActionRecall, "look for"),
	p(components.ActionRecall, "what do my notes say"), p(components.ActionRecall, "what do the notes say"),
	p(components.ActionRecall, "what does my note say"), p(components.ActionRecall, "what do notes say"),
	p(components.ActionRecall, "open my notes"), p(components.ActionRecall, "open my note"),
	p(components.ActionRecall, "open notes"), p(components.ActionRecall, "show my notes"),
	p(components.ActionRecall, "show notes"), p(components.ActionRecall, "what do i know about"),
}

// recallLead are the words between a recall phrase and its query ("find
// my notes about the kernel"): dropped from the query's start.
var recallLead = set("my", "our", "the", "a", "an", "me", "notes", "note", "documents", "document", "docs", "files",
	"file", "passages", "anything", "something", "everything", "all", "about", "on", "for", "regarding", "of",
	"say", "says", "that", "mention", "mentions", "mentioning", "with", "what", "is", "there", "in", "info",
	"information", "please")

// matchPhrase returns the longest phrase at the start of toks.
func matchPhrase(toks []token) (phrase, int, bool) {
	var best phrase
	n := 0
	for _, ph := range phrases {
		if len(ph.words) <= n || len(ph.words) > len(toks) {
			continue
		}
		ok := true
		for i, w := range ph.words {
			if toks[i].norm != w {
				ok = false
				break
			}
		}
		if ok {
			best, n = ph, len(ph.words)
		}
	}
	return best, n, n > 0
}

// verbWords are the one-word phrases: what a misspelled first word is
// compared with.
var verbWords = func() []phrase {
	var out []phrase
	for _, ph := range phrases {
		if len(ph.words) == 1 && len(ph.words[0]) >= 3 {
			out = append(out, ph)
		}
	}
	return out
}()
