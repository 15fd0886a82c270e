package prompt

import (
	"strings"
	"unicode/utf8"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// The bar shows the line said and RayOS's answer after it, each cut to a
// few words: together with the label they stay well inside the ~250
// characters a 1920-pixel bar holds, so the answer's end is cut here,
// with "…", and not by the compositor.
const (
	shownSaid   = 40  // runes: the end of the line said
	shownAnswer = 110 // runes: the start of the answer
)

// working is what the bar says while the outcome is still to come.
const working = "working…"

// answers is what the prompt system reads to answer a line: where the
// world already holds the answer.
type answers struct {
	envelopes *ecs.Filter1[components.IntentEnvelope]
	pendings  *ecs.Filter1[components.PendingConfirmation]
	guests    *ecs.Map1[components.Guest]

	// seen is what each waiting prompt's answer was last made from, so
	// that a confirmation or an effect that waits for many ticks is not
	// phrased again at every one.
	seen    map[ecs.Entity]seen
	waiting []ecs.Entity
}

// seen is the state of the world an answer was made from.
type seen struct {
	seq    uint64
	status components.IntentStatus
	tick   uint64
}

func (a *answers) init(w *world.World) {
	a.envelopes = ecs.NewFilter1[components.IntentEnvelope](w.ECS).Register()
	a.pendings = ecs.NewFilter1[components.PendingConfirmation](w.ECS).Register()
	a.guests = ecs.NewMap1[components.Guest](w.ECS)
	if a.seen == nil {
		a.seen = map[ecs.Entity]seen{}
	}
}

// look gives every prompt waiting for an answer what the world holds of
// it now. It runs before the keys of the tick: the answer to a line said
// in the last tick was made after the prompt ran (intent, the gate and
// effects follow it), and the envelope that holds it is removed by the
// gate later in this tick.
func (s *System) look(w *world.World) {
	a := &s.answers
	a.waiting = a.waiting[:0]
	q := s.prompts.Query()
	for q.Next() {
		if q.Get().Answering == components.PromptAnswerWaiting {
			a.waiting = append(a.waiting, q.Entity())
		}
	}
	for _, e := range a.waiting {
		p := s.prompt.Get(e)
		text, final := a.find(w, e, p.Seq)
		if text == "" {
			continue // nothing new since last looked
		}
		p.Answer = cutEnd(text, shownAnswer)
		if final {
			p.Answering = components.PromptAnswerFinal
			delete(a.seen, e)
		}
	}
}

// find is the answer to the utterance with sequence number seq, and
// whether it is final; "" when nothing changed since prompt e last looked.
func (a *answers) find(w *world.World, e ecs.Entity, seq uint64) (string, bool) {
	// An utterance that resolved to a request is answered by its envelope:
	// the user's own (no control-socket request) with the Enter key's
	// sequence number as its source.
	var env *components.IntentEnvelope
	var envEntity ecs.Entity
	q := a.envelopes.Query()
	for q.Next() {
		if c := q.Get(); c.Source == seq && c.Request == 0 && (env == nil || q.Entity().ID() < envEntity.ID()) {
			env, envEntity = c, q.Entity()
		}
	}
	if env != nil {
		now := seen{seq: seq, status: env.Status, tick: env.Tick}
		if old, ok := a.seen[e]; ok && old == now {
			return "", false
		}
		a.seen[e] = now
		return a.outcome(w, envEntity, env)
	}
	// One that made no envelope (not understood, a recall) is answered in
	// the intent system's Replies, in the tick it was answered.
	if r := ecs.GetResource[components.Replies](w.ECS); r != nil {
		for i := range r.Replies {
			if r.Replies[i].Source == seq {
				return r.Replies[i].Text, true
			}
		}
	}
	return working, false // a recall waiting for the Volume
}

// outcome phrases an envelope's state for the bar.
func (a *answers) outcome(w *world.World, e ecs.Entity, env *components.IntentEnvelope) (string, bool) {
	what := a.what(w, env)
	switch env.Status {
	case components.IntentPending, components.IntentAllowed, components.IntentRunning:
		return what + ": " + working, false
	case components.IntentConfirm:
		return what + ": confirm? (rule " + a.rule(e, env) + `) say "confirm" or "cancel"`, false
	case components.IntentDenied:
		return what + ": " + env.Detail, true
	}
	failed := env.Status == components.IntentFailed
	switch env.Action {
	case components.ActionStatus:
		if failed && env.Argument == "" {
			return "no guests", true // effects says "no such vm " of none at all
		}
		if failed {
			return env.Detail, true
		}
		return statusWords(env.Detail), true
	case components.ActionPending:
		if env.Detail == "none" {
			return "nothing waits for confirmation", true
		}
		return "waiting for confirmation: " + env.Detail, true
	case components.ActionConfirm, components.ActionCancel:
		return env.Detail, true // "confirmed 17 (start windows)", or why not
	}
	verdict := "done"
	if failed {
		verdict = "failed"
	}
	if env.Detail == "" {
		return what + ": " + verdict, true
	}
	if failed {
		return what + ": failed: " + env.Detail, true
	}
	return what + ": done (" + env.Detail + ")", true
}

// what names what an envelope asks: `start windows`, `type linux "hi"`.
func (a *answers) what(w *world.World, env *components.IntentEnvelope) string {
	var b strings.Builder
	if int(env.Action) < len(components.IntentActionNames) {
		b.WriteString(components.IntentActionNames[env.Action])
	}
	if t, ok := w.Resolve(env.Target); ok && a.guests.HasAll(t) {
		b.WriteByte(' ')
		b.WriteString(a.guests.Get(t).ID)
	}
	if env.Argument != "" {
		b.WriteString(` "`)
		b.WriteString(env.Argument)
		b.WriteByte('"')
	}
	return b.String()
}

// rule is the policy rule that asks to confirm envelope e.
func (a *answers) rule(e ecs.Entity, env *components.IntentEnvelope) string {
	ref := world.Ref(e)
	q := a.pendings.Query()
	defer q.Close()
	for q.Next() {
		if pc := q.Get(); pc.Envelope == ref {
			return pc.Rule
		}
	}
	// The gate writes it into the detail too ("… rule=R expires=N").
	if _, after, ok := strings.Cut(env.Detail, " rule="); ok {
		rule, _, _ := strings.Cut(after, " ")
		return rule
	}
	return "?"
}

// statusWords reads a status answer ("linux=presented,ready
// windows=hidden") as words: "linux presented (ready), windows hidden".
func statusWords(detail string) string {
	if detail == "" {
		return "no guests"
	}
	parts := strings.Fields(detail)
	for i, p := range parts {
		id, state, _ := strings.Cut(p, "=")
		state, ready := strings.CutSuffix(state, ",ready")
		p = id + " " + state
		if ready {
			p += " (ready)"
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}

// cutEnd keeps the first n runes of s, "…" standing for the rest.
func cutEnd(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}

// cutStart keeps the last n runes of s, "…" standing for the rest.
func cutStart(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := len(s)
	for range n - 1 {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return "…" + s[i:]
}
