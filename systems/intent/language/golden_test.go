package language_test

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/intent/language"
)

var update = flag.Bool("update", false, "rewrite testdata/utterances.golden with what Parse gives now")

// vocab is the golden tests' world: two guests named by id and os, and
// two whose ids share a word (for ambiguity).
var vocab = language.Vocabulary{Guests: []language.Guest{
	{ID: "linux", OS: "linux", Words: []string{"Ubuntu", "Desktop", "trusted"}},
	{ID: "win11", OS: "windows", Words: []string{"Windows", "11", "Office"}},
	{ID: "web-dev", OS: "linux", Words: []string{"Firefox", "Browser"}},
	{ID: "web-prod", OS: "linux", Words: []string{"Web", "Server"}},
}}

// band is the certainty as the golden file states it: the number may be
// tuned, the band is the contract.
func band(c float32) string {
	switch {
	case c >= 1:
		return "exact"
	case c >= 0.8:
		return "high"
	case c >= 0.5:
		return "medium"
	case c > 0:
		return "low"
	}
	return "none"
}

func command(c language.Command) string {
	var b strings.Builder
	if c.Action == 0 {
		b.WriteString("?")
	} else {
		b.WriteString(components.IntentActionNames[c.Action])
	}
	switch c.Target.Kind {
	case language.TargetNamed:
		b.WriteString(" named:" + c.Target.Guest)
	case language.TargetPronoun:
		b.WriteString(" pronoun:" + strings.Join(c.Target.Words, "+"))
	case language.TargetDescribed:
		b.WriteString(" described:" + strings.Join(c.Target.Words, "+"))
		if c.Target.Guest != "" {
			b.WriteString("~" + c.Target.Guest)
		}
	}
	if c.Argument != "" {
		b.WriteString(" arg:" + strconv.Quote(c.Argument))
	}
	return b.String()
}

func render(r language.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s | %s", command(r.Command), band(r.Command.Certainty))
	if r.Err != language.OK {
		fmt.Fprintf(&b, " | err:%s", r.Err)
	}
	if len(r.Alternatives) > 0 {
		alts := make([]string, len(r.Alternatives))
		for i, a := range r.Alternatives {
			alts[i] = command(a)
		}
		fmt.Fprintf(&b, " | or: %s", strings.Join(alts, "; "))
	}
	if len(r.Suggestions) > 0 {
		fmt.Fprintf(&b, " | did you mean: %s", strings.Join(r.Suggestions, "; "))
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(&b, " | unknown: %s", strings.Join(r.Unknown, " "))
	}
	return b.String()
}

// TestGolden reads testdata/utterances.golden: each line an utterance
// (Go-quoted) → what Parse must understand. go test -run Golden -update
// rewrites the right-hand sides; review the diff.
func TestGolden(t *testing.T) {
	const path = "testdata/utterances.golden"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			t.Fatalf("%s:%d: want a Go-quoted utterance first: %v", path, i+1, err)
		}
		utterance, _ := strconv.Unquote(q)
		if strings.HasPrefix(utterance, "@repeat ") { // "@repeat N text": text N times
			f := strings.SplitN(utterance, " ", 3)
			n, _ := strconv.Atoi(f[1])
			utterance = strings.Repeat(f[2], n)
		}
		got := render(language.Parse(utterance, vocab))
		want, _ := strings.CutPrefix(strings.TrimSpace(line[len(q):]), "=> ")
		if !*update && got != want {
			t.Errorf("%s:%d: %s\n got: %s\nwant: %s", path, i+1, q, got, want)
		}
		out.WriteString(q + " => " + got + "\n")
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
