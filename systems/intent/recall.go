package intent

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// Retrievals, a world resource (Init adds it), is how intent resolution
// asks the Volume without waiting for it: each recall resolved in a tick
// appends an Ask, and the runtime drains Asks after the tick, queries the
// Volume on its own goroutine and feeds each answer back as an
// InputRetrieval (Device = the Ask's Source). The tick never waits on a
// query, and the answers are inputs: a replay feeds the recorded ones and
// needs no Volume. Asks left undrained are dropped at the next tick (their
// recalls are answered at their deadline).
type Retrievals struct {
	Asks []Ask
}

// Ask is one query for the Volume: Source is the Seq of the utterance
// that asked, Text what to look for, K how many passages.
type Ask struct {
	Source uint64
	Text   string
	K      int
}

// Passage is one retrieved passage as an InputRetrieval's JSON carries it.
type Passage struct {
	// Score is the similarity to the query (cosine: 1 is the same text).
	Score float32 `json:"score"`
	// File and Heading say where the passage comes from.
	File    string `json:"file,omitempty"`
	Heading string `json:"heading,omitempty"`
	// Text is the passage, whitespace folded, cut at PassageText bytes.
	Text string `json:"text,omitempty"`
	// Guest is the guest the passage is about, when its metadata says
	// ("guest" key); not used by resolution yet (docs/volume.md).
	Guest string `json:"guest,omitempty"`
}

const (
	// RecallK is how many passages a recall asks for.
	RecallK = 3
	// MaxWaitingRecalls bounds the recalls waiting for the Volume; a new
	// one beyond it answers the oldest "busy".
	MaxWaitingRecalls = 16
	// RecallDeadline is how long a recall waits for its answer before it
	// is answered "no answer from the Volume"; counted in ticks (at the
	// world's rate, so a replay expires the same ones).
	RecallDeadline = 2 * time.Second
	// PassageText bounds a passage's text in an answer; the ACK shows
	// its first detailText bytes.
	PassageText = 400
	detailText  = 120
	// maxDetail bounds a recall's ACK detail.
	maxDetail = 1024
)

// waitingRecall is a resolved recall whose answer has not come back.
type waitingRecall struct {
	u         utterance
	query     string
	certainty float32
	deadline  uint64
}

// EncodeAnswer writes passages as the compact JSON an InputRetrieval
// carries: texts folded and cut at PassageText, scores rounded to three
// decimals, and as many passages as fit in components.MaxRetrievalText.
func EncodeAnswer(passages []Passage) string {
	out := make([]Passage, 0, len(passages))
	for _, p := range passages {
		p.Score = float32(math.Round(float64(p.Score)*1000) / 1000)
		if math.IsNaN(float64(p.Score)) || math.IsInf(float64(p.Score), 0) {
			p.Score = 0
		}
		p.File, p.Heading, p.Guest = cut(fold(p.File), 256), cut(fold(p.Heading), 256), cut(fold(p.Guest), 64)
		p.Text = cut(fold(p.Text), PassageText)
		out = append(out, p)
	}
	for n := len(out); n >= 0; n-- {
		data, err := json.Marshal(out[:n])
		if err == nil && len(data) <= components.MaxRetrievalText {
			return string(data)
		}
	}
	return "[]"
}

// AnswerError is the InputRetrieval text saying why there are no passages.
func AnswerError(why string) string {
	why = cut(fold(why), 200)
	if why == "" {
		why = "unknown error"
	}
	return "err: " + why
}

// decodeAnswer reads an InputRetrieval's text: the passages, or the error
// it carries (errAnswer), or why it cannot be read.
func decodeAnswer(text string) ([]Passage, error) {
	if why, ok := strings.CutPrefix(text, "err: "); ok {
		if why = fold(why); why != "" {
			return nil, answerError(why)
		}
		return nil, answerError("the Volume gave no reason")
	}
	if len(text) > components.MaxRetrievalText {
		return nil, fmt.Errorf("bad answer from the Volume: %d bytes, more than %d", len(text), components.MaxRetrievalText)
	}
	var ps []Passage
	if err := json.Unmarshal([]byte(text), &ps); err != nil {
		return nil, fmt.Errorf("bad answer from the Volume: %v", err)
	}
	// The Volume is asked for RecallK; a journal's answer may hold more,
	// and only the best few are shown.
	ps = ps[:min(len(ps), 2*RecallK)]
	for i, p := range ps {
		if !(p.Score >= -1 && p.Score <= 1) {
			return nil, fmt.Errorf("bad answer from the Volume: passage %d: score %v outside [-1, 1]", i+1, p.Score)
		}
	}
	return ps, nil
}

// answerError is an error the Volume's side reported ("no volume", "busy").
type answerError string

func (e answerError) Error() string { return string(e) }

// recallDeadlineTicks is RecallDeadline in ticks of w's clock (at least 1).
func recallDeadlineTicks(w *world.World) uint64 {
	dt := w.Clock.Dt
	if dt <= 0 {
		return 1
	}
	// Rounded: a tick of 1/60 s is 16.666666 ms, and 2 s of them is 120.
	return uint64(max(1, math.Round(float64(RecallDeadline)/float64(dt))))
}

// ask queues a resolved recall: an Ask for the runtime, and the recall
// waiting for its answer (the oldest answered "busy" when too many wait).
func (s *System) ask(w *world.World, u *utterance, query string, certainty float32) {
	if len(s.waiting) >= MaxWaitingRecalls {
		old := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.finishRecall(w, &old, nil, answerError(fmt.Sprintf("busy: more than %d recalls wait for the Volume", MaxWaitingRecalls)))
	}
	s.waiting = append(s.waiting, waitingRecall{u: *u, query: query, certainty: certainty, deadline: w.Clock.Tick + recallDeadlineTicks(w)})
	if r := ecs.GetResource[Retrievals](w.ECS); r != nil {
		r.Asks = append(r.Asks, Ask{Source: u.seq, Text: query, K: RecallK})
	}
}

// answerRecall finishes the waiting recall the answer in is for; an
// answer for none (late, after its deadline, or a duplicate) is ignored.
func (s *System) answerRecall(w *world.World, in *components.Input) {
	for i := range s.waiting {
		if uint32(s.waiting[i].u.seq) != in.Device {
			continue
		}
		rc := s.waiting[i]
		s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
		ps, err := decodeAnswer(in.Text)
		s.finishRecall(w, &rc, ps, err)
		return
	}
}

// expireRecalls answers the recalls whose deadline has passed.
func (s *System) expireRecalls(w *world.World) {
	kept := s.waiting[:0]
	for _, rc := range s.waiting {
		if w.Clock.Tick < rc.deadline {
			kept = append(kept, rc)
			continue
		}
		s.finishRecall(w, &rc, nil, answerError(fmt.Sprintf("no answer from the Volume within %v", RecallDeadline)))
	}
	clear(s.waiting[len(kept):])
	s.waiting = kept
}

// finishRecall answers a recall: its RAYOS_INTENT marker (the confidence,
// the sources) and, for a said request, a finished envelope whose Detail
// (the passages) its ACK carries.
func (s *System) finishRecall(w *world.World, rc *waitingRecall, ps []Passage, err error) {
	env := components.IntentEnvelope{
		Action: components.ActionRecall, Argument: rc.query, Source: rc.u.seq, Order: rc.u.seq, Tick: w.Clock.Tick,
		Request: rc.u.request, Client: rc.u.client, Status: components.IntentDone,
	}
	var detail string
	switch {
	case err != nil:
		env.Status, env.Detail = components.IntentFailed, err.Error()
		var ae answerError
		if !errors.As(err, &ae) {
			env.Detail = cut(fold(err.Error()), 300)
		}
		detail = fmt.Sprintf("confidence=0.00 parse=%.2f no passages: %s", rc.certainty, env.Detail)
	case len(ps) == 0:
		env.Detail = fmt.Sprintf("nothing in the Volume is like %q", rc.query)
		detail = fmt.Sprintf("confidence=0.00 parse=%.2f similarity=0.00 sources=-", rc.certainty)
	default:
		sim := min(max(ps[0].Score, 0), 1)
		env.Confidence = float32(math.Round(float64(rc.certainty*sim)*100) / 100)
		detail = fmt.Sprintf("confidence=%.2f parse=%.2f similarity=%.2f sources=%s", env.Confidence, rc.certainty, sim, sources(ps))
		env.Detail = passagesDetail(ps)
	}
	m := marker.Intent(rc.u.seq, components.IntentActionNames[components.ActionRecall], "-", detail)
	w.Emit(m)
	if rc.u.said {
		env.Understood = m.String()
		s.made = append(s.made, env)
		return
	}
	answer := env.Detail
	switch {
	case err != nil:
		answer = "no passages: " + env.Detail
	case len(ps) > 0:
		answer = fmt.Sprintf("best source: %s (%.2f)", sourceName(ps[0], " › "), ps[0].Score)
	}
	s.reply(rc.u.seq, components.ActionRecall, answer)
}

// sources names where the passages come from, "file#heading", distinct,
// best first, joined with "; " (headings have spaces).
func sources(ps []Passage) string {
	var out []string
	for _, p := range ps {
		src := sourceName(p, "#")
		if !contains(out, src) {
			out = append(out, src)
		}
	}
	return cut(strings.Join(out, "; "), 600)
}

func sourceName(p Passage, sep string) string {
	src := p.File
	if src == "" {
		src = "passage"
	}
	if p.Heading != "" {
		src += sep + p.Heading
	}
	return src
}

// passagesDetail is what a recall's ACK says: each passage as
// "file › heading (score) — first words", joined with " | ".
func passagesDetail(ps []Passage) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		text := cut(fold(p.Text), detailText)
		if len(text) < len(fold(p.Text)) {
			text += "…"
		}
		parts = append(parts, fmt.Sprintf("%s (%.2f) — %s", sourceName(p, " › "), p.Score, text))
	}
	return cut(strings.Join(parts, " | "), maxDetail)
}

func contains(list []string, s string) bool {
	for _, have := range list {
		if have == s {
			return true
		}
	}
	return false
}

// fold keeps text on one line with single spaces.
func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// cut shortens s to at most n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
