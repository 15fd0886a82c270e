package train

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// Label says which guest an utterance meant: one line of a labels file
// (JSON Lines, next to its journal as <journal>.labels.jsonl). Seq is the
// utterance's input sequence number: its position among the journal's
// events, counting from 1 (world.Inbox stamps it so).
type Label struct {
	Seq    uint64 `json:"seq"`
	Target string `json:"target"`
	// Case names the situation the generator staged (gaze, glance, named,
	// recent); informative only.
	Case string `json:"case,omitempty"`
}

// SynthGuests are the synthetic world's guests, as the journal header
// lists them. Their desktops sit two per row on the wall (world/scene).
var SynthGuests = []string{"linux:linux:orange", "windows:windows:red", "browser:linux:green", "build:linux:orange"}

// SynthHz is the synthetic journal's tick rate.
const SynthHz = 30

// synthPolicy lets the host requests that set the scene act, and makes
// every utterance of the story wait for a confirmation that never comes
// (min_confidence 1), so that only the scripted requests change the
// guests' states and the story stays what the labels say.
const synthPolicy = `version = 1
[intent]
min_confidence = 1.0
confirm_timeout_s = 1
` + synthGuestPolicy

const synthGuestPolicy = `[guests.linux]
start = true
present = true
[guests.windows]
start = true
present = true
[guests.browser]
start = true
present = true
[guests.build]
start = true
present = true
`

// Synthesize writes a synthetic journal of n labelled utterances to
// journal and their labels to labels; seed fixes everything.
//
// The story: every guest is started and presented by host requests, then
// each utterance picks a target and stages one of four situations —
// gaze (the user looks at the target, 0.4–2 s, and says "hide it"),
// glance (looks at it, then glances at another guest for 0.1–0.25 s just
// before speaking), named (looks at another guest and names the target:
// "hide build", "show linux") and recent (the target was hidden by the
// previous utterance; the user looks at another guest and says "show it").
// After each utterance a host request carries out what was meant, so the
// guests' states follow the story.
func Synthesize(n int, seed uint64, journal, labels io.Writer) error {
	if n < 1 {
		return fmt.Errorf("--synthetic %d: want at least 1 utterance", n)
	}
	s := &synth{r: rand.New(rand.NewPCG(seed, 0x7a7e)), tick: 1}
	for _, g := range SynthGuests {
		spec := parseGuest(g)
		s.ids = append(s.ids, spec)
	}
	s.presented = make([]bool, len(s.ids))
	for _, id := range s.ids {
		s.host("start "+id, 1)
	}
	s.tick += 2 * SynthHz
	for i, id := range s.ids {
		s.host("present "+id, 1)
		s.presented[i] = true
	}
	s.tick += SynthHz
	s.last = -1
	for range n {
		s.utterance()
	}
	w, err := world.NewJournalWriter(nopCloser{journal}, world.JournalHeader{
		Seed: seed, Scene: "demo", Hz: SynthHz, Policy: synthPolicy, Guests: SynthGuests,
	})
	if err != nil {
		return err
	}
	for _, ev := range s.events {
		in, err := ev.Input.ToInput()
		if err != nil {
			return fmt.Errorf("synthetic event at tick %d: %w", ev.Tick, err)
		}
		w.Record(ev.Tick, in)
	}
	if err := w.Close(s.tick + SynthHz); err != nil {
		return err
	}
	enc := json.NewEncoder(labels)
	for _, l := range s.labels {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type synth struct {
	r         *rand.Rand
	ids       []string
	presented []bool
	last      int
	tick      uint64
	request   uint32
	events    []world.JournalEvent
	labels    []Label
}

func parseGuest(g string) string {
	for i := range g {
		if g[i] == ':' {
			return g[:i]
		}
	}
	return g
}

func (s *synth) add(in world.JournalInput) uint64 {
	s.events = append(s.events, world.JournalEvent{Tick: s.tick, Input: in})
	return uint64(len(s.events)) // Seq counts from 1 (world.Inbox)
}

// host feeds a control request as if a script sent it.
func (s *synth) host(line string, client uint32) {
	s.request++
	s.add(world.JournalInput{Kind: "host", Text: line, Device: s.request, Client: client})
}

// look gazes at guest g (−1: at nothing) for the given seconds, a sample
// every 3 ticks, with a little jitter inside the desktop.
func (s *synth) look(g int, seconds float64) {
	ticks := uint64(math.Max(1, seconds*SynthHz))
	for end := s.tick + ticks; s.tick < end; s.tick += 3 {
		dir := components.Vec3{0, 1, -0.2} // the ceiling: no surface
		if g >= 0 {
			col, row := float32(g%2), float32(g/2)
			dir = components.Vec3{1.1*col + s.jitter(0.3), -0.7*row + s.jitter(0.15), -2}
		}
		s.add(world.JournalInput{Kind: "gaze", Device: 1, Origin: &components.Vec3{0, 1.6, 0}, Direction: &dir})
	}
}

func (s *synth) jitter(r float64) float32 { return float32((s.r.Float64()*2 - 1) * r) }

func (s *synth) other(t int, presented bool) int {
	var c []int
	for i := range s.ids {
		if i != t && s.presented[i] == presented {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[s.r.IntN(len(c))]
}

func (s *synth) pick(words ...string) string { return words[s.r.IntN(len(words))] }

// utterance stages one situation, says it, labels it and carries it out.
func (s *synth) utterance() {
	t := s.r.IntN(len(s.ids))
	if s.last >= 0 && !s.presented[s.last] && s.r.Float64() < 0.4 {
		t = s.last
	}
	var text, kase string
	if s.presented[t] {
		switch p := s.r.Float64(); {
		case p < 0.4:
			kase = "gaze"
			s.look(t, 0.4+1.6*s.r.Float64())
			text = s.pick("hide it", "hide that", "hide this")
		case p < 0.7:
			kase = "glance"
			s.look(t, 1+s.r.Float64())
			s.look(s.other(t, true), 0.1+0.15*s.r.Float64())
			text = s.pick("hide it", "hide that")
		default:
			kase = "named"
			s.look(s.other(t, true), 0.3+s.r.Float64())
			text = "hide " + s.ids[t]
		}
	} else {
		if t == s.last && s.r.Float64() < 0.7 {
			kase = "recent"
			s.look(s.other(t, true), 0.3+s.r.Float64())
			text = s.pick("show it", "show that", "present it")
		} else {
			kase = "named"
			s.look(s.other(t, true), 0.3+s.r.Float64())
			text = s.pick("show ", "present ") + s.ids[t]
		}
	}
	seq := s.add(world.JournalInput{Kind: "voice", Text: text})
	s.labels = append(s.labels, Label{Seq: seq, Target: s.ids[t], Case: kase})
	s.tick += 3
	// What the user meant happens (a script's request: the gate acts on
	// it), so the next utterance starts from the state the story says.
	if s.presented[t] {
		s.host("hide "+s.ids[t], 1)
	} else {
		s.host("present "+s.ids[t], 1)
	}
	s.presented[t] = !s.presented[t]
	s.last = t
	s.look(-1, 0.3+0.7*s.r.Float64())
}
