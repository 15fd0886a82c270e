package intent

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/intent/language"
	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// System resolves the tick's utterances — text and voice inputs, and
// control-socket "say" requests — into IntentEnvelopes.
type System struct {
	inputs    *ecs.Filter1[components.Input]
	guests    *ecs.Filter1[components.Guest]
	rays      *ecs.Filter1[components.AttentionRay]
	envelopes *ecs.Map1[components.IntentEnvelope]
	model     *model.Model

	// lastTarget is the tick each guest (by Number) was last the target
	// of a resolved utterance: the model's recency feature.
	lastTarget map[uint32]uint64

	// Scratch reused every utterance so that resolving does not allocate
	// once warmed up (the vocabulary is rebuilt only when guests change).
	lines     []utterance
	made      []components.IntentEnvelope
	entities  []ecs.Entity
	guestCopy []components.Guest
	vocab     language.Vocabulary
	cands     []model.Candidate
	feats     []model.Features
	probs     []float32
	named     [1]string
	desktops  map[uint32]int // live desktop surface id → guest index

	// replies is the world's components.Replies: the answers to this
	// tick's utterances that made no envelope.
	replies *components.Replies

	// waiting are the recalls asked of the Volume whose answer has not
	// come back (recall.go), oldest first; answers holds this tick's.
	waiting []waitingRecall
	answers []components.Input
}

// utterance is one line to resolve: what was said, and where its answer
// goes (request and client for a "say" from the control socket).
type utterance struct {
	text    string
	seq     uint64
	request uint64
	client  uint32
	said    bool
}

// New returns the intent system with the default attention model.
func New() *System {
	return &System{model: model.Default(), lastTarget: map[uint32]uint64{}, desktops: map[uint32]int{}}
}

// NewWithModel returns the intent system scoring targets with m.
func NewWithModel(m *model.Model) *System {
	s := New()
	s.model = m
	return s
}

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "intent",
		Purpose: "understand text, voice and said requests (plain words), pick the target with the attention model, and make pending IntentEnvelopes; answer what it cannot understand; ask the Volume for recalls and finish them when the answer comes back as an input",
		Reads:   []string{"Input(text,voice,host say,retrieval)", "Guest", "Surface", "AttentionRay", "Focus"},
		Writes:  []string{"IntentEnvelope", "Recorder", "Retrievals", "Replies"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) error {
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.guests = ecs.NewFilter1[components.Guest](w.ECS).Register()
	s.rays = ecs.NewFilter1[components.AttentionRay](w.ECS).Register()
	s.envelopes = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	if m := ecs.GetResource[model.Model](w.ECS); m != nil {
		s.model = m // weights given at boot (rayos boot --attention)
	}
	if s.model == nil {
		s.model = model.Default()
	}
	if s.lastTarget == nil {
		s.lastTarget = map[uint32]uint64{}
	}
	if s.desktops == nil {
		s.desktops = map[uint32]int{}
	}
	if ecs.GetResource[Retrievals](w.ECS) == nil {
		ecs.AddResource(w.ECS, &Retrievals{})
	}
	if s.replies = ecs.GetResource[components.Replies](w.ECS); s.replies == nil {
		s.replies = &components.Replies{}
		ecs.AddResource(w.ECS, s.replies)
	}
	return nil
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.lines, s.answers, s.made = s.lines[:0], s.answers[:0], s.made[:0]
	clear(s.replies.Replies)
	s.replies.Replies = s.replies.Replies[:0] // read by the prompt since the last run
	if r := ecs.GetResource[Retrievals](w.ECS); r != nil {
		r.Asks = r.Asks[:0] // the runtime drained them after the last tick
	}
	q := s.inputs.Query()
	for q.Next() {
		in := q.Get()
		switch in.Kind {
		case components.InputText, components.InputVoice:
			s.lines = append(s.lines, utterance{text: in.Text, seq: in.Seq, client: in.Client})
		case components.InputHost:
			if rest, ok := sayRequest(in.Text); ok {
				s.lines = append(s.lines, utterance{text: rest, seq: in.Seq, request: uint64(in.Device), client: in.Client, said: true})
			}
		case components.InputRetrieval:
			s.answers = append(s.answers, *in)
		}
	}
	// Recalls first: the answers that came back, then the ones out of
	// time (an answer fed in the tick its deadline passes still counts).
	for i := range s.answers {
		s.answerRecall(w, &s.answers[i])
	}
	if len(s.waiting) > 0 {
		s.expireRecalls(w)
	}
	if len(s.lines) > 0 {
		s.snapshotGuests()
		for i := range s.lines {
			if env, ok := s.resolve(w, &s.lines[i]); ok {
				s.made = append(s.made, env)
			}
		}
	}
	for i := range s.made {
		s.envelopes.NewEntity(&s.made[i])
	}
}

// sayRequest reads a control-socket request line "say UTTERANCE" (the
// host bridge announces it; this system answers it).
func sayRequest(line string) (string, bool) {
	line = strings.TrimLeft(line, " \t")
	rest, ok := strings.CutPrefix(line, "say")
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// snapshotGuests copies the guests (entity and component) for this tick's
// utterances, and rebuilds the vocabulary when the guests changed.
func (s *System) snapshotGuests() {
	s.entities, s.guestCopy = s.entities[:0], s.guestCopy[:0]
	q := s.guests.Query()
	for q.Next() {
		s.entities = append(s.entities, q.Entity())
		s.guestCopy = append(s.guestCopy, *q.Get())
	}
	if !s.vocabularyChanged() {
		return
	}
	s.vocab.Guests = s.vocab.Guests[:0]
	for i := range s.guestCopy {
		s.vocab.Guests = append(s.vocab.Guests, vocabularyGuest(&s.guestCopy[i]))
	}
}

// vocabularyChanged reports whether the guests differ from the ones the
// vocabulary was built from (rarely: guests come and go with the registry).
func (s *System) vocabularyChanged() bool {
	if len(s.vocab.Guests) != len(s.guestCopy) {
		return true
	}
	for i := range s.guestCopy {
		if want := vocabularyGuest(&s.guestCopy[i]); s.vocab.Guests[i].ID != want.ID || s.vocab.Guests[i].OS != want.OS ||
			!slices.Equal(s.vocab.Guests[i].Words, want.Words) {
			return true
		}
	}
	return false
}

// vocabularyGuest is what the language may call a guest: its id, its
// operating system and its trust label's colour ("the orange one").
func vocabularyGuest(g *components.Guest) language.Guest {
	lg := language.Guest{ID: g.ID}
	if int(g.OS) < len(components.OSKindNames) && g.OS != 0 {
		lg.OS = components.OSKindNames[g.OS]
	}
	if int(g.Label) < len(components.TrustLabelNames) {
		lg.Words = []string{components.TrustLabelNames[g.Label]}
	}
	return lg
}

// resolve turns one utterance into an envelope. What it cannot act on is
// answered: a RAYOS_INTENT marker saying what was understood and what the
// user could say instead, and for a said request an envelope carrying
// that answer to its ACK — never a silent drop.
func (s *System) resolve(w *world.World, u *utterance) (components.IntentEnvelope, bool) {
	res := language.Parse(u.text, s.vocab)
	if res.Err != language.OK {
		return s.answer(w, u, res.Detail+suggest(res.Suggestions))
	}
	cmd := res.Command
	env := components.IntentEnvelope{
		Action: cmd.Action, Argument: cmd.Argument, Confidence: cmd.Certainty,
		Status: components.IntentPending, Source: u.seq, Order: u.seq, Tick: w.Clock.Tick,
		Request: u.request, Client: u.client,
	}
	attention := float32(1)
	target := "-"
	switch {
	case cmd.Action == components.ActionRecall:
		// Answered when the Volume's answer comes back (recall.go).
		s.ask(w, u, cmd.Argument, cmd.Certainty)
		return components.IntentEnvelope{}, false
	case !needsTarget(cmd.Action):
		if cmd.Action == components.ActionStatus || cmd.Action == components.ActionPending {
			// Reads take effect in their place in the request order, as
			// the host bridge's do.
			env.Status = components.IntentAllowed
			if cmd.Target.Kind == language.TargetNamed {
				env.Argument = cmd.Target.Guest
			}
		}
	case cmd.Target.Kind == language.TargetNamed:
		i := s.guestIndex(cmd.Target.Guest)
		if i < 0 {
			return s.answer(w, u, fmt.Sprintf("no guest %q", cmd.Target.Guest)+suggest(res.Suggestions))
		}
		env.Target, target = world.Ref(s.entities[i]), s.guestCopy[i].ID
		if r := ecs.GetResource[Recorder](w.ECS); r != nil {
			// Named targets need no model, but they teach it what naming
			// is worth (the name feature decides described targets).
			s.candidates(w, &cmd)
			s.record(r, w, u, i)
		}
		s.lastTarget[s.guestCopy[i].Number] = w.Clock.Tick
	default:
		i, p := s.choose(w, u, &cmd)
		if i < 0 {
			return s.answer(w, u, "no guest to "+components.IntentActionNames[cmd.Action])
		}
		env.Target, target, attention = world.Ref(s.entities[i]), s.guestCopy[i].ID, p
		s.lastTarget[s.guestCopy[i].Number] = w.Clock.Tick
	}
	env.Confidence = cmd.Certainty * attention
	detail := fmt.Sprintf("confidence=%.2f parse=%.2f attention=%.2f", env.Confidence, cmd.Certainty, attention)
	if cmd.Certainty < 1 {
		detail += suggest(res.Suggestions)
	}
	m := marker.Intent(u.seq, components.IntentActionNames[cmd.Action], target, detail)
	w.Emit(m)
	if u.said {
		env.Understood = m.String()
	}
	return env, true
}

// answer tells the user an utterance resolved to nothing: a marker, and
// for a said request a finished envelope that carries the answer to the
// request's ACK.
func (s *System) answer(w *world.World, u *utterance, why string) (components.IntentEnvelope, bool) {
	m := marker.Intent(u.seq, "none", "-", why)
	w.Emit(m)
	if !u.said {
		s.reply(u.seq, 0, why)
		return components.IntentEnvelope{}, false
	}
	return components.IntentEnvelope{
		Action: components.ActionSay, Status: components.IntentDenied, Detail: why, Understood: m.String(),
		Source: u.seq, Order: u.seq, Tick: w.Clock.Tick, Request: u.request, Client: u.client,
	}, true
}

// reply hands the answer to a typed or spoken utterance that makes no
// envelope to whoever shows it (RayOS's prompt): components.Replies.
func (s *System) reply(seq uint64, action components.IntentAction, text string) {
	s.replies.Replies = append(s.replies.Replies, components.Reply{Source: seq, Action: action, Text: text})
}

// suggest phrases the did-you-mean answers.
func suggest(suggestions []string) string {
	if len(suggestions) == 0 {
		return ""
	}
	quoted := make([]string, len(suggestions))
	for i, s := range suggestions {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return "; did you mean " + strings.Join(quoted, " or ") + "?"
}

// choose scores every guest as the target of cmd with the attention model
// and returns the most probable one with its probability (-1 when there
// is no guest).
func (s *System) choose(w *world.World, u *utterance, cmd *language.Command) (int, float32) {
	n := len(s.guestCopy)
	if n == 0 {
		return -1, 0
	}
	s.candidates(w, cmd)
	s.feats = s.feats[:0]
	hz := 1 / w.Clock.Dt.Seconds()
	for i := range s.cands {
		s.feats = append(s.feats, s.cands[i].Features(hz))
	}
	if cap(s.probs) < n {
		s.probs = make([]float32, n)
	}
	s.probs = s.probs[:n]
	s.model.Probabilities(s.feats, s.probs)
	best := 0
	for i := 1; i < n; i++ {
		if s.probs[i] > s.probs[best] {
			best = i
		}
	}
	if r := ecs.GetResource[Recorder](w.ECS); r != nil {
		s.record(r, w, u, best)
	}
	return best, s.probs[best]
}

// record hands the candidates just weighed, and the one chosen, to r.
func (s *System) record(r *Recorder, w *world.World, u *utterance, chosen int) {
	names := make([]string, len(s.guestCopy))
	for i := range s.guestCopy {
		names[i] = s.guestCopy[i].ID
	}
	r.Utterances = append(r.Utterances, Utterance{
		Source: u.seq, Tick: w.Clock.Tick, Text: u.text, Names: names,
		Candidates: append([]model.Candidate(nil), s.cands...), Chosen: chosen,
	})
}

// candidates fills s.cands, one per guest, with what the world knows now.
func (s *System) candidates(w *world.World, cmd *language.Command) {
	s.cands = s.cands[:0]
	s.named[0] = cmd.Target.Guest
	tick := w.Clock.Tick
	for i := range s.guestCopy {
		g := &s.guestCopy[i]
		c := model.Candidate{IdleTicks: math.MaxUint64, StateFit: StateFit(cmd.Action, g)}
		if last, ok := s.lastTarget[g.Number]; ok {
			c.IdleTicks = tick - last
		}
		if w.Focus.Owner == g.Number && g.Number != components.OwnerRayOS && w.Focus.Surface.ID != 0 {
			c.DwellTicks = tick - w.Focus.Since
		}
		switch cmd.Target.Kind {
		case language.TargetDescribed:
			c.Name = language.NameMatch(cmd.Target.Words, s.vocab.Guests[i])
		case language.TargetNamed:
			c.Name = language.NameMatch(s.named[:], s.vocab.Guests[i])
		}
		s.cands = append(s.cands, c)
	}
	// Gaze: every live ray's weight now, on the guest whose live desktop
	// it hits.
	clear(s.desktops)
	for i := range s.guestCopy {
		if d := s.guestCopy[i].Desktop; d.ID != 0 {
			if _, ok := w.Resolve(d); ok {
				s.desktops[d.ID] = i
			}
		}
	}
	fadePerTick := w.Clock.Dt.Seconds() / components.GazeHalfLife.Seconds()
	q := s.rays.Query()
	for q.Next() {
		ray := q.Get()
		if ray.Hit == 0 || ray.Weight == 0 {
			continue
		}
		i, ok := s.desktops[ray.Hit]
		if !ok {
			continue
		}
		c := &s.cands[i]
		c.Gaze += ray.Weight * float32(math.Exp2(-float64(uint32(tick)-ray.Since)*fadePerTick))
		if c.HitT == 0 || ray.HitT < c.HitT {
			c.HitT = ray.HitT
		}
	}
}

func (s *System) guestIndex(id string) int {
	for i := range s.guestCopy {
		if s.guestCopy[i].ID == id {
			return i
		}
	}
	return -1
}

// needsTarget is true for actions that act on a guest.
func needsTarget(a components.IntentAction) bool {
	switch a {
	case components.ActionConfirm, components.ActionCancel, components.ActionStatus, components.ActionPending, components.ActionSay,
		components.ActionRecall:
		return false
	}
	return true
}

// StateFit says how well action suits a guest in its state, in [0, 1]:
// the attention model's state feature. Starting a stopped guest fits (1),
// starting a running one does not (0); input fits a presented guest best
// (only a presented guest receives it).
func StateFit(action components.IntentAction, g *components.Guest) float32 {
	running := g.State == components.GuestHidden || g.State == components.GuestPresented || g.State == components.GuestStarting
	switch action {
	case components.ActionStart:
		return fit(!running && g.State != components.GuestSuspended)
	case components.ActionPresent:
		switch g.State {
		case components.GuestHidden:
			return 1
		case components.GuestPresented:
			return 0.25 // already shown: saying it again is odd, not wrong
		case components.GuestStarting, components.GuestSuspended:
			return 0.5
		}
		return 0
	case components.ActionHide:
		return fit(g.State == components.GuestPresented)
	case components.ActionShutdown:
		return fit(running || g.State == components.GuestSuspended)
	case components.ActionSuspend:
		return fit(g.State == components.GuestHidden || g.State == components.GuestPresented)
	case components.ActionResume:
		return fit(g.State == components.GuestSuspended)
	case components.ActionType, components.ActionPress, components.ActionMouse, components.ActionClick:
		if g.State == components.GuestPresented {
			return 1
		}
		return fit(g.State == components.GuestHidden) * 0.25
	}
	return 0
}

func fit(b bool) float32 {
	if b {
		return 1
	}
	return 0
}
