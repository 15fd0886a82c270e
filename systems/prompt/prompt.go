package prompt

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// MaxLine is the longest line the prompt holds, in bytes: the intent
// language's longest utterance. Keys that would make it longer are
// refused, and the bar says so; nothing typed is cut off unseen.
const MaxLine = components.MaxPromptLine

// shownTail is how much of a long line the bar shows: its end, where the
// caret is. A 1920-pixel bar holds about 250 characters of the title font.
const shownTail = 160

// Focus gives the keyboard to the prompt surface when nothing else has it.
type Focus struct {
	prompts  *ecs.Filter2[components.Prompt, components.Surface]
	surfaces *ecs.Map1[components.Surface]

	// The attention system clears a focus no gaze or click holds at every
	// tick; the prompt takes it back at once. These remember since when it
	// has held it, so that Focus.Since says when it got it, not this tick.
	held      components.EntityRef
	heldSince uint64
	heldLast  uint64
}

// NewFocus returns the prompt-focus system.
func NewFocus() *Focus { return &Focus{} }

// Describe implements world.System.
func (s *Focus) Describe() world.Description {
	return world.Description{
		Name:    "prompt-focus",
		Purpose: "give the keyboard to RayOS's prompt (the shell bar) whenever no click or gaze focuses a live surface, so that keys typed at a bare RayOS reach it",
		Reads:   []string{"Focus", "Prompt", "Surface"},
		Writes:  []string{"Focus (by prompt)"},
	}
}

// Init implements world.System.
func (s *Focus) Init(w *world.World) error {
	s.prompts = ecs.NewFilter2[components.Prompt, components.Surface](w.ECS).Register()
	s.surfaces = ecs.NewMap1[components.Surface](w.ECS)
	return nil
}

// Run implements world.System.
func (s *Focus) Run(w *world.World) {
	f := w.Focus
	if e, ok := w.Resolve(f.Surface); ok && s.surfaces.HasAll(e) {
		return // a click or gaze has it (the prompt's own surface included)
	}
	prompt, ok := s.visiblePrompt()
	if !ok {
		return
	}
	ref, tick := world.Ref(prompt), w.Clock.Tick
	since := tick
	if s.held == ref && s.heldLast+1 == tick {
		since = s.heldSince
	}
	*f = components.Focus{Surface: ref, Owner: components.OwnerRayOS, Since: since, By: components.FocusPrompt, At: since,
		Gaze: f.Gaze, GazeSince: f.GazeSince}
	s.held, s.heldSince, s.heldLast = ref, since, tick
}

// visiblePrompt is the visible prompt surface with the lowest entity id
// (there is one; the choice among several is only made deterministic).
func (s *Focus) visiblePrompt() (ecs.Entity, bool) {
	var best ecs.Entity
	q := s.prompts.Query()
	for q.Next() {
		_, sf := q.Get()
		if e := q.Entity(); sf.Flags&components.SurfaceVisible != 0 && (best.IsZero() || e.ID() < best.ID()) {
			best = e
		}
	}
	return best, !best.IsZero()
}

// System edits the prompt's line from its surface's key events, shows it
// in the surface's Title and submits it on Enter.
type System struct {
	events  *ecs.Filter1[components.SurfaceInput]
	prompts *ecs.Filter1[components.Prompt]
	prompt  *ecs.Map1[components.Prompt]
	titles  *ecs.Map1[components.Title]
	inputs  *ecs.Map1[components.Input]

	// shown is what each prompt's title was last made from, so that it is
	// rewritten (and the bar redrawn) only when that changes.
	shown map[ecs.Entity]shown

	// answers finds RayOS's answer to a line said (answer.go).
	answers answers

	// Scratch reused every tick.
	keys    []components.SurfaceInput
	changed []ecs.Entity
	said    []components.Input
}

// shown is what a prompt's title is drawn from.
type shown struct {
	prompt  components.Prompt
	focused bool
}

// New returns the prompt system.
func New() *System { return &System{shown: map[ecs.Entity]shown{}} }

// Describe implements world.System.
func (s *System) Describe() world.Description {
	return world.Description{
		Name:    "prompt",
		Purpose: "edit RayOS's command line from the prompt surface's keys (US keymap, Backspace, Escape), show it on the bar, and on Enter make a text Input the intent system resolves this tick, with the Enter key's sequence number; show RayOS's answer to it, from the world, until the next key",
		Reads:   []string{"SurfaceInput(key)", "Prompt", "Focus", "IntentEnvelope", "PendingConfirmation", "Guest", "Replies"},
		Writes:  []string{"Prompt", "Title", "Input(text)"},
	}
}

// Init implements world.System.
func (s *System) Init(w *world.World) error {
	s.events = ecs.NewFilter1[components.SurfaceInput](w.ECS).Register()
	s.prompts = ecs.NewFilter1[components.Prompt](w.ECS).Register()
	s.prompt = ecs.NewMap1[components.Prompt](w.ECS)
	s.titles = ecs.NewMap1[components.Title](w.ECS)
	s.inputs = ecs.NewMap1[components.Input](w.ECS)
	if s.shown == nil {
		s.shown = map[ecs.Entity]shown{}
	}
	s.answers.init(w)
	return nil
}

// Run implements world.System.
func (s *System) Run(w *world.World) {
	s.keys, s.said = s.keys[:0], s.said[:0]
	// Answers first: the ones made since the prompt last ran; a key typed
	// this tick then puts them away.
	s.look(w)
	q := s.events.Query()
	for q.Next() {
		if ev := q.Get(); ev.Kind == components.InputKey && ev.Pressed {
			s.keys = append(s.keys, *ev)
		}
	}
	if len(s.keys) > 0 {
		// Keys edit the line in the order they were typed.
		slices.SortFunc(s.keys, func(a, b components.SurfaceInput) int { return cmp.Compare(a.Seq, b.Seq) })
		for i := range s.keys {
			s.key(w, &s.keys[i])
		}
	}
	// The submitted lines are utterances of this tick: the intent system,
	// next in the pipeline, resolves them; the input system removes them
	// at the start of the next tick with every other Input.
	for i := range s.said {
		s.inputs.NewEntity(&s.said[i])
	}
	s.show(w)
}

// key applies one key press to the prompt it was typed into.
func (s *System) key(w *world.World, ev *components.SurfaceInput) {
	e, ok := w.Resolve(ev.Surface)
	if !ok || !s.prompt.HasAll(e) {
		return // another of RayOS's surfaces (the launcher): not a line
	}
	p := s.prompt.Get(e)
	switch ev.Key {
	case keyEnter, keyKPEnter:
		line := strings.TrimSpace(p.Line)
		p.Line, p.Refused = "", 0
		p.Answering, p.Answer = components.PromptAnswerNone, ""
		if line == "" {
			return // an empty line says nothing
		}
		p.Said, p.Seq = line, ev.Seq
		p.Answering = components.PromptAnswerWaiting // looked for from the next tick on
		s.said = append(s.said, components.Input{
			Kind: components.InputText, Seq: ev.Seq, TimeNs: w.Clock.SimNs,
			Device: ev.Device, Text: line,
		})
	case keyBackspace:
		p.Answering, p.Answer = components.PromptAnswerNone, ""
		if p.Line != "" {
			_, n := utf8.DecodeLastRuneInString(p.Line)
			p.Line, p.Refused = p.Line[:len(p.Line)-n], 0
		}
	case keyEsc:
		p.Line, p.Refused = "", 0
		p.Answering, p.Answer = components.PromptAnswerNone, ""
	case keyCapsLock:
		p.CapsLock = !p.CapsLock
	default:
		if ev.Modifiers&(components.ModCtrl|components.ModAlt|components.ModMeta) != 0 {
			return // a shortcut, not text
		}
		c, ok := char(ev.Key, ev.Modifiers&components.ModShift != 0, p.CapsLock)
		if !ok {
			return // arrows, function keys, tab: nothing to type
		}
		p.Answering, p.Answer = components.PromptAnswerNone, ""
		if len(p.Line)+1 > MaxLine {
			p.Refused++
			if p.Refused == 1 {
				w.Log().Debug("prompt: line full, key refused", "max_bytes", MaxLine, "seq", ev.Seq)
			}
			return
		}
		p.Line += string(c)
	}
}

// show rewrites the title of every prompt whose line or focus changed.
func (s *System) show(w *world.World) {
	focused, _ := w.Resolve(w.Focus.Surface)
	s.changed = s.changed[:0]
	live := 0
	q := s.prompts.Query()
	for q.Next() {
		e, p := q.Entity(), q.Get()
		live++
		now := shown{prompt: *p, focused: e == focused}
		if old, ok := s.shown[e]; ok && old == now {
			continue
		}
		s.shown[e] = now
		s.changed = append(s.changed, e)
	}
	for _, e := range s.changed {
		text := Title(s.prompt.Get(e), s.shown[e].focused)
		if !s.titles.HasAll(e) {
			s.titles.Add(e, &components.Title{Text: text})
			continue
		}
		if t := s.titles.Get(e); t.Text != text {
			t.Text = text // compose sees the new title and redraws the bar
		}
	}
	if len(s.shown) > live+8 { // forget prompts that left
		for e := range s.shown {
			if !w.ECS.Alive(e) || !s.prompt.HasAll(e) {
				delete(s.shown, e)
			}
		}
	}
}

// Title is what a prompt surface shows: its label; with the keyboard, a
// "> " prompt, the line and a caret; the end of a line too long to show;
// that the line is full when a key was refused; and, from Enter until the
// next key, the line said and RayOS's answer to it ("…" until the world
// holds one), focused or not.
func Title(p *components.Prompt, focused bool) string {
	label := p.Label
	if label == "" {
		label = "RayOS"
	}
	answered := p.Line == "" && p.Said != "" && p.Answering != components.PromptAnswerNone
	if !focused && p.Line == "" && !answered {
		return label
	}
	var b strings.Builder
	b.WriteString(label)
	b.WriteString("  > ")
	line := p.Line
	if len(line) > shownTail {
		b.WriteString("…")
		line = line[len(line)-shownTail:]
	}
	b.WriteString(line)
	if focused {
		b.WriteByte('_')
	}
	switch {
	case p.Refused > 0:
		b.WriteString("      (line full: ")
		b.WriteString(strconv.Itoa(MaxLine))
		b.WriteString(" bytes)")
	case answered:
		b.WriteString("      ")
		b.WriteString(cutStart(p.Said, shownSaid))
		b.WriteString("  →  ")
		if p.Answer == "" {
			b.WriteString("…") // said this tick: the answer is made after the bar is
		} else {
			b.WriteString(cutEnd(p.Answer, shownAnswer))
		}
	}
	return b.String()
}
