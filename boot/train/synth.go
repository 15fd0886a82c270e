package train

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

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
// The story: every guest is started and presented by host requests. Then
// each utterance picks a target — usually a presented guest to hide,
// sometimes a hidden one to show again, mostly the one just hidden — and
// stages one situation (the label's Case):
//
//   - gaze: the user looks at the target (0.5–2.5 s, the gaze jittering
//     inside its desktop, now and then straying off it) and says "hide it";
//   - return: looks at it, glances at another guest, comes back for a
//     moment and speaks: gaze right, dwell short;
//   - glance: looks at it and glances at another guest just before
//     speaking: the gaze points at the wrong guest (noise no cue can undo);
//   - named: says the target's id ("hide build"), looking at it, at
//     another guest or at nothing;
//   - described: names it by its trust label's colour ("hide the green
//     one"; only the guests whose colour is theirs alone);
//   - recent: the target is hidden (a hidden desktop cannot be looked at)
//     and was the last one acted on; the user looks at another guest or at
//     nothing and says "show it".
//
// A hidden guest that was not the last one acted on is shown by name or
// description. After each utterance host requests carry out what was
// meant and put back any guest the resolver hid by mistake ("hide" is
// always allowed), so the guests' states follow the story whatever the
// model chose. Between utterances the user looks around or away.
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
	replay, err := ReplayModel().Marshal()
	if err != nil {
		return err
	}
	w, err := world.NewJournalWriter(nopCloser{journal}, world.JournalHeader{
		Seed: seed, Scene: "demo", Hz: SynthHz, Policy: synthPolicy, Guests: SynthGuests,
		Attention: string(replay),
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
// every 3 ticks. The direction aims at where AddGuests puts g's desktop
// (two per row on the wall, 2 m ahead of the eye).
func (s *synth) look(g int, seconds float64) {
	ticks := uint64(math.Max(1, seconds*SynthHz))
	for end := s.tick + ticks; s.tick < end; s.tick += 3 {
		dir := components.Vec3{0, 1, -0.2} // the ceiling: no surface
		if g >= 0 {
			col, row := float32(g%2), float32(g/2)
			// Mostly inside the desktop; one sample in twelve strays (a
			// saccade, a tracker's error) and may miss it or hit a neighbour.
			jx, jy := 0.3, 0.15
			if s.r.IntN(12) == 0 {
				jx, jy = 0.9, 0.5
			}
			dir = components.Vec3{1.1*col + s.jitter(jx), -0.7*row + s.jitter(jy), -2}
		}
		s.add(world.JournalInput{Kind: "gaze", Device: 1, Origin: &components.Vec3{0, 1.6, 0}, Direction: &dir})
	}
}

func (s *synth) jitter(r float64) float32 { return float32((s.r.Float64()*2 - 1) * r) }

// other is a random guest other than t that is presented (when presented)
// or hidden, or -1 when there is none.
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

// colours are the guests' trust-label colours that describe one guest
// alone ("the green one"); a shared colour names none.
func (s *synth) colour(g int) string {
	c := guestField(SynthGuests[g], 2)
	for i, other := range SynthGuests {
		if i != g && guestField(other, 2) == c {
			return ""
		}
	}
	return c
}

func guestField(g string, n int) string {
	for ; n > 0; n-- {
		i := strings.IndexByte(g, ':')
		if i < 0 {
			return ""
		}
		g = g[i+1:]
	}
	if i := strings.IndexByte(g, ':'); i >= 0 {
		g = g[:i]
	}
	return g
}

func (s *synth) count(presented bool) int {
	n := 0
	for _, p := range s.presented {
		if p == presented {
			n++
		}
	}
	return n
}

// lookElsewhere looks, while not looking at t, at another presented guest
// or at nothing.
func (s *synth) lookElsewhere(t int) {
	g := -1
	if s.r.Float64() < 0.6 {
		g = s.other(t, true)
	}
	s.look(g, 0.3+s.r.Float64())
}

// utterance stages one situation, says it, labels it and carries it out.
func (s *synth) utterance() {
	shown, hidden := s.count(true), s.count(false)
	show := hidden > 0 && (shown <= 1 || s.r.Float64() < 0.35)
	var t int
	switch {
	case show && s.last >= 0 && !s.presented[s.last] && s.r.Float64() < 0.75:
		t = s.last
	case show:
		t = s.other(-1, false)
	default:
		t = s.other(-1, true)
	}
	var text, kase string
	colour := s.colour(t)
	if !show {
		distractor := s.other(t, true)
		switch p := s.r.Float64(); {
		case p < 0.5 || (p < 0.73 && distractor < 0) || (p >= 0.86 && colour == ""):
			kase = "gaze"
			s.look(t, 0.5+2*s.r.Float64())
			text = s.pick("hide it", "hide that", "hide this")
		case p < 0.65:
			kase = "return"
			s.look(t, 0.8+1.2*s.r.Float64())
			s.look(distractor, 0.15+0.25*s.r.Float64())
			s.look(t, 0.15+0.45*s.r.Float64())
			text = s.pick("hide it", "hide that")
		case p < 0.73:
			kase = "glance"
			s.look(t, 1+s.r.Float64())
			s.look(distractor, 0.1+0.15*s.r.Float64())
			text = s.pick("hide it", "hide that")
		case p < 0.86:
			kase = "named"
			if s.r.Float64() < 0.4 {
				s.look(t, 0.3+s.r.Float64())
			} else {
				s.lookElsewhere(t)
			}
			text = "hide " + s.ids[t]
		default:
			kase = "described"
			if s.r.Float64() < 0.3 {
				s.look(t, 0.3+s.r.Float64())
			} else {
				s.lookElsewhere(t)
			}
			text = "hide the " + colour + " one"
		}
	} else {
		switch {
		case t == s.last:
			kase = "recent"
			s.lookElsewhere(t)
			text = s.pick("show it", "show that", "present it")
		case colour != "" && s.r.Float64() < 0.5:
			kase = "described"
			s.lookElsewhere(t)
			text = s.pick("show the ", "present the ") + colour + " one"
		default:
			kase = "named"
			s.lookElsewhere(t)
			text = s.pick("show ", "present ") + s.ids[t]
		}
	}
	seq := s.add(world.JournalInput{Kind: "voice", Text: text})
	s.labels = append(s.labels, Label{Seq: seq, Target: s.ids[t], Case: kase})
	s.tick += 3
	// What the user meant happens (a script's request: the gate acts on
	// it), and a guest the resolver hid by mistake is shown again, so the
	// next utterance starts from the state the story says.
	s.presented[t] = !s.presented[t]
	if s.presented[t] {
		s.host("present "+s.ids[t], 1)
	} else {
		s.host("hide "+s.ids[t], 1)
	}
	for i, p := range s.presented {
		if p && i != t {
			s.host("present "+s.ids[i], 1)
		}
	}
	s.last = t
	// Between utterances the user looks around, or away.
	g := -1
	if s.r.Float64() < 0.5 {
		g = s.other(-1, true)
	}
	s.look(g, 0.3+0.9*s.r.Float64())
}
