package intent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// Command is a parsed text or voice command before its target is resolved.
type Command struct {
	Action components.IntentAction
	// Guest is the named guest id, or "" when the user named none.
	Guest string
	// Argument is the rest of the line (text to type, key, "x,y").
	Argument string
}

// needsTarget is true for actions that act on a guest.
func needsTarget(a components.IntentAction) bool {
	return a != components.ActionConfirm && a != components.ActionCancel
}

// needsArgument is true for input-injection actions.
func needsArgument(a components.IntentAction) bool {
	switch a {
	case components.ActionType, components.ActionPress, components.ActionMouse:
		return true
	}
	return false
}

// Parse reads "<action> [guest] [argument…]"; confirm and cancel take an
// optional request id instead ("confirm 17"). isGuest tells whether a word
// is a known guest id; a word that is not is the start of the argument.
func Parse(line string, isGuest func(string) bool) (Command, error) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return Command{}, errors.New("empty command")
	}
	var cmd Command
	for a, name := range components.IntentActionNames[:components.LastGoverned+1] {
		if name != "" && strings.EqualFold(name, words[0]) {
			cmd.Action = components.IntentAction(a)
		}
	}
	if cmd.Action == 0 {
		return Command{}, fmt.Errorf("unknown action %q", words[0])
	}
	rest := words[1:]
	if needsTarget(cmd.Action) && len(rest) > 0 && isGuest(rest[0]) {
		cmd.Guest, rest = rest[0], rest[1:]
	}
	cmd.Argument = strings.Join(rest, " ")
	if needsArgument(cmd.Action) && cmd.Argument == "" {
		return Command{}, fmt.Errorf("%s needs an argument", words[0])
	}
	if !needsTarget(cmd.Action) && cmd.Argument != "" {
		// confirm and cancel may name the request they answer.
		if _, err := strconv.ParseUint(cmd.Argument, 10, 64); err != nil || len(rest) > 1 {
			return Command{}, fmt.Errorf("%s: %q is not a request id", words[0], cmd.Argument)
		}
	} else if !needsArgument(cmd.Action) && cmd.Argument != "" {
		return Command{}, fmt.Errorf("%s: unexpected %q (not a known guest)", words[0], cmd.Argument)
	}
	return cmd, nil
}

// System resolves the tick's text and voice inputs.
type System struct {
	inputs    *ecs.Filter1[components.Input]
	guests    *ecs.Filter1[components.Guest]
	envelopes *ecs.Map1[components.IntentEnvelope]
	lines     []components.Input
	made      []components.IntentEnvelope
}

// New returns the intent system.
func New() *System { return &System{} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "intent",
		Purpose: "parse text/voice commands into pending IntentEnvelopes, taking an unnamed target from Focus",
		Reads:   []string{"Input(text,voice)", "Guest", "Focus"},
		Writes:  []string{"IntentEnvelope"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) error {
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.guests = ecs.NewFilter1[components.Guest](w.ECS).Register()
	s.envelopes = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	return nil
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.lines = s.lines[:0]
	q := s.inputs.Query()
	for q.Next() {
		if in := q.Get(); in.Kind == components.InputText || in.Kind == components.InputVoice {
			s.lines = append(s.lines, *in)
		}
	}
	if len(s.lines) == 0 {
		return
	}
	s.made = s.made[:0]
	for i := range s.lines {
		if env, ok := s.resolve(w, &s.lines[i]); ok {
			s.made = append(s.made, env)
		}
	}
	for i := range s.made {
		s.envelopes.NewEntity(&s.made[i])
	}
}

// resolve turns one command line into an envelope, or reports that it
// named no action or no target it could find.
func (s *System) resolve(w *world.World, in *components.Input) (components.IntentEnvelope, bool) {
	cmd, err := Parse(in.Text, func(word string) bool { _, ok := s.guestByID(word); return ok })
	if err != nil {
		w.Log().Debug("intent: not a command", "seq", in.Seq, "text", in.Text, "err", err)
		return components.IntentEnvelope{}, false
	}
	env := components.IntentEnvelope{
		Action: cmd.Action, Argument: cmd.Argument, Confidence: 1,
		Status: components.IntentPending, Source: in.Seq, Order: in.Seq, Tick: w.Clock.Tick,
	}
	if !needsTarget(cmd.Action) {
		return env, true
	}
	if cmd.Guest != "" {
		g, _ := s.guestByID(cmd.Guest)
		env.Target = world.Ref(g)
		return env, true
	}
	// No guest named: the user means what they are looking at.
	g, ok := s.guestByNumber(w.Focus.Owner)
	if !ok {
		w.Log().Debug("intent: no target named and none focused", "seq", in.Seq, "text", in.Text)
		return components.IntentEnvelope{}, false
	}
	env.Target, env.Confidence = world.Ref(g), w.Focus.Weight
	return env, true
}

func (s *System) guestByID(id string) (ecs.Entity, bool) {
	return s.findGuest(func(g *components.Guest) bool { return g.ID == id })
}

func (s *System) guestByNumber(n uint32) (ecs.Entity, bool) {
	if n == components.OwnerRayOS {
		return ecs.Entity{}, false
	}
	return s.findGuest(func(g *components.Guest) bool { return g.Number == n })
}

func (s *System) findGuest(match func(*components.Guest) bool) (ecs.Entity, bool) {
	q := s.guests.Query()
	defer q.Close()
	for q.Next() {
		if match(q.Get()) {
			return q.Entity(), true
		}
	}
	return ecs.Entity{}, false
}
