package world

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/rayos/engine/components"
)

// JournalFormat and JournalVersion open every journal's header line.
const (
	JournalFormat  = "rayos-journal"
	JournalVersion = 1
)

// maxJournalLine bounds one journal line; longer lines are corrupt input,
// not something to buffer without limit.
const maxJournalLine = 1 << 20

// MaxJournalTick bounds the ticks a journal may name (its events and its
// end): 2^32 ticks is over two years of a run at 60 Hz and about 5 days at
// MaxHz, far beyond any recording, while a corrupt end of 2^64−1 would
// have a replay tick for ever.
const MaxJournalTick = 1 << 32

// A thermal input's reading must lie in [MinCelsius, MaxCelsius] (°C),
// the range world/fabric accepts from a sensor.
const (
	MinCelsius = -50
	MaxCelsius = 200
)

// JournalHeader is the first line of a journal: what a replay needs to
// rebuild the same world before feeding the same inputs.
type JournalHeader struct {
	Format  string  `json:"format"`
	Version int     `json:"version"`
	Seed    uint64  `json:"seed"`
	Scene   string  `json:"scene"`
	Hz      float64 `json:"hz"`
	// Entry is the boot entry the recorded run booted (normal when empty).
	Entry string `json:"entry,omitempty"`
	// Policy is the text of the policy in force at the start; empty when
	// the run was restricted (no valid policy).
	Policy string `json:"policy,omitempty"`
	// Hypervisor is "libvirt" when a real hypervisor carried out the
	// effects (their results are in the journal), empty when simulated.
	Hypervisor string `json:"hypervisor,omitempty"`
	// Guests are the registry's VMs the world was given, as
	// "id:os:label" ("id:os" before trust labels: label red).
	Guests []string `json:"guests,omitempty"`
	// Attention is the text of the attention model's weights file the
	// run used (rayos boot --attention); empty for the embedded default.
	Attention string `json:"attention,omitempty"`
	// Fabric is the text of the fabric file the run's devices were built
	// from (world/fabric: a discovered machine or a --fabric file); empty
	// when the scene's synthetic devices were kept. A replay builds the
	// same devices from it, whatever machine it runs on.
	Fabric string `json:"fabric,omitempty"`
}

// JournalEvent is one input fed before tick Tick.
type JournalEvent struct {
	Tick  uint64       `json:"tick"`
	Input JournalInput `json:"input"`
}

// JournalInput is an Input as it is written in a journal: its kind by name
// and only the fields that kind uses. Seq and TimeNs are not stored: they
// follow from the event's position and tick.
type JournalInput struct {
	Kind      string           `json:"kind"`
	Device    uint32           `json:"device,omitempty"`
	Client    uint32           `json:"client,omitempty"`
	Key       uint16           `json:"key,omitempty"`
	Pressed   bool             `json:"pressed,omitempty"`
	Pointer   *[2]float32      `json:"pointer,omitempty"`
	Buttons   uint32           `json:"buttons,omitempty"`
	Origin    *components.Vec3 `json:"origin,omitempty"`
	Direction *components.Vec3 `json:"direction,omitempty"`
	Text      string           `json:"text,omitempty"`
	// Celsius is a thermal reading (kind "thermal"); a pointer so that
	// 0 °C is written.
	Celsius *float32 `json:"celsius,omitempty"`
}

// journalEnd is the last line of a journal whose run ended cleanly.
type journalEnd struct {
	End uint64 `json:"end"`
}

// Journal is a recorded run: the header, the inputs in feed order, and the
// tick at which the run ended (0 when the recording was cut off, in which
// case a replay stops after the last event's tick).
type Journal struct {
	Header JournalHeader
	Events []JournalEvent
	End    uint64
}

// LastTick is the tick a replay of j runs to.
func (j *Journal) LastTick() uint64 {
	if j.End > 0 {
		return j.End
	}
	if n := len(j.Events); n > 0 {
		return j.Events[n-1].Tick
	}
	return 0
}

// ReadJournalFile reads and validates the journal at path. Errors name the
// file and line.
func ReadJournalFile(path string) (*Journal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	return ReadJournal(f, path)
}

// ReadJournal reads a journal from r; name is used in error messages.
func ReadJournal(r io.Reader, name string) (*Journal, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxJournalLine)
	j := &Journal{}
	line := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			if err := strictUnmarshal(text, &j.Header); err != nil {
				return nil, fail("header: %v", err)
			}
			if err := j.Header.validate(); err != nil {
				return nil, fail("header: %v", err)
			}
			continue
		}
		if len(text) == 0 {
			continue
		}
		if j.End > 0 {
			return nil, fail("content after the end line")
		}
		if bytes.HasPrefix(text, []byte(`{"end"`)) {
			var end journalEnd
			if err := strictUnmarshal(text, &end); err != nil {
				return nil, fail("end line: %v", err)
			}
			if n := len(j.Events); end.End == 0 || n > 0 && end.End < j.Events[n-1].Tick {
				return nil, fail("end tick %d is before the last event", end.End)
			}
			if end.End > MaxJournalTick {
				return nil, fail("end tick %d is beyond the last tick a journal may name (%d)", end.End, uint64(MaxJournalTick))
			}
			j.End = end.End
			continue
		}
		var ev JournalEvent
		if err := strictUnmarshal(text, &ev); err != nil {
			return nil, fail("%v", err)
		}
		if ev.Tick == 0 {
			return nil, fail("tick must be ≥ 1 (inputs are fed before a tick)")
		}
		// Without an end line a replay runs to the last event's tick,
		// so an event's tick is bounded like the end.
		if ev.Tick > MaxJournalTick {
			return nil, fail("tick %d is beyond the last tick a journal may name (%d)", ev.Tick, uint64(MaxJournalTick))
		}
		if n := len(j.Events); n > 0 && ev.Tick < j.Events[n-1].Tick {
			return nil, fail("tick %d goes back in time (previous event is at tick %d)", ev.Tick, j.Events[n-1].Tick)
		}
		if _, err := ev.Input.ToInput(); err != nil {
			return nil, fail("input: %v", err)
		}
		j.Events = append(j.Events, ev)
	}
	if err := sc.Err(); err != nil {
		line++
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail("line longer than %d bytes", maxJournalLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty journal (the first line must be the header)", name)
	}
	return j, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

func (h JournalHeader) validate() error {
	if h.Format != JournalFormat {
		return fmt.Errorf("format is %q, want %q", h.Format, JournalFormat)
	}
	if h.Version != JournalVersion {
		return fmt.Errorf("version %d is not supported (this build reads version %d)", h.Version, JournalVersion)
	}
	if err := ValidateHz(h.Hz); err != nil {
		return err
	}
	if h.Scene == "" {
		return errors.New("scene is empty")
	}
	return nil
}

// ValidateHz rejects tick rates that are not finite numbers in
// [MinHz, MaxHz]; the runtime's --hz and a journal header's hz both pass
// through it.
func ValidateHz(hz float64) error {
	if !(hz >= MinHz && hz <= MaxHz) { // false for NaN too
		return fmt.Errorf("hz %v out of range: want a number in [%v, %d]", hz, MinHz, MaxHz)
	}
	return nil
}

// ToInput validates a journal input and converts it to the component.
func (ji JournalInput) ToInput() (components.Input, error) {
	kind := components.InputKind(0)
	for k, name := range components.InputKindNames {
		if name != "" && name == ji.Kind {
			kind = components.InputKind(k)
		}
	}
	in := components.Input{Kind: kind, Device: ji.Device, Client: ji.Client, Key: ji.Key, Pressed: ji.Pressed, Buttons: ji.Buttons, Text: ji.Text}
	if ji.Pointer != nil {
		in.Pointer = *ji.Pointer
	}
	if ji.Origin != nil {
		in.Origin = *ji.Origin
	}
	if ji.Direction != nil {
		in.Direction = *ji.Direction
	}
	switch kind {
	case 0:
		return in, fmt.Errorf("unknown kind %q (want one of %s)", ji.Kind, strings.Join(kindNames(), ", "))
	case components.InputGaze:
		if ji.Origin == nil || ji.Direction == nil {
			return in, errors.New("gaze needs origin and direction")
		}
		d := in.Direction
		n := math.Sqrt(float64(d[0]*d[0] + d[1]*d[1] + d[2]*d[2]))
		if math.IsNaN(n) || n < 1e-6 {
			return in, errors.New("gaze direction has zero length")
		}
		for i := range d {
			in.Direction[i] = float32(float64(d[i]) / n)
		}
	case components.InputKey:
		if ji.Key == 0 {
			return in, errors.New("key needs a key code")
		}
	case components.InputPointer:
		if ji.Pointer == nil {
			return in, errors.New("pointer needs a position")
		}
	case components.InputThermal:
		if ji.Celsius == nil {
			return in, errors.New("thermal needs celsius")
		}
		if c := *ji.Celsius; !(c >= MinCelsius && c <= MaxCelsius) { // false for NaN too
			return in, fmt.Errorf("thermal celsius %v out of range [%d, %d]", c, MinCelsius, MaxCelsius)
		}
		in.Celsius = *ji.Celsius
	case components.InputRetrieval:
		if err := validRetrieval(ji); err != nil {
			return in, err
		}
	case components.InputText, components.InputVoice, components.InputSignal, components.InputPolicy,
		components.InputHost, components.InputEffect, components.InputGuestEvent:
		if strings.TrimSpace(ji.Text) == "" {
			return in, fmt.Errorf("%s needs text", ji.Kind)
		}
	}
	return in, nil
}

// validRetrieval checks a Volume answer: it names the utterance that
// asked (device), is bounded, and is either "err: <why>" or a JSON array
// (the intent system reads the passages themselves and answers one it
// cannot read; this check only keeps garbage out of a replay).
func validRetrieval(ji JournalInput) error {
	switch t := ji.Text; {
	case ji.Device == 0:
		return errors.New("retrieval needs device (the Seq of the utterance that asked)")
	case len(t) > components.MaxRetrievalText:
		return fmt.Errorf("retrieval text is %d bytes, more than %d", len(t), components.MaxRetrievalText)
	case strings.HasPrefix(t, "err: ") && strings.TrimSpace(t[len("err: "):]) != "":
		return nil
	case strings.HasPrefix(strings.TrimSpace(t), "[") && json.Valid([]byte(t)):
		return nil
	}
	return errors.New(`retrieval text must be a JSON array of passages or "err: <why>"`)
}

func kindNames() []string {
	var names []string
	for _, n := range components.InputKindNames {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// FromInput is the journal form of an input.
func FromInput(in components.Input) JournalInput {
	ji := JournalInput{Kind: components.InputKindNames[in.Kind], Device: in.Device, Client: in.Client, Key: in.Key, Pressed: in.Pressed, Buttons: in.Buttons, Text: in.Text}
	switch in.Kind {
	case components.InputPointer:
		p := in.Pointer
		ji.Pointer = &p
	case components.InputGaze:
		o, d := in.Origin, in.Direction
		ji.Origin, ji.Direction = &o, &d
	case components.InputThermal:
		c := in.Celsius
		ji.Celsius = &c
	}
	return ji
}

// JournalWriter records a run as it happens: the header at creation, one
// line per fed input, the end line on Close. Each line is written whole,
// so a run that is killed leaves a journal that still replays up to its
// last complete line.
type JournalWriter struct {
	w   *bufio.Writer
	f   io.WriteCloser
	err error
}

// NewJournalWriter writes the header to out and returns the writer.
func NewJournalWriter(out io.WriteCloser, h JournalHeader) (*JournalWriter, error) {
	h.Format, h.Version = JournalFormat, JournalVersion
	jw := &JournalWriter{w: bufio.NewWriter(out), f: out}
	jw.writeLine(h)
	return jw, jw.Flush()
}

// Record writes one fed input.
func (jw *JournalWriter) Record(tick uint64, in components.Input) {
	jw.writeLine(JournalEvent{Tick: tick, Input: FromInput(in)})
}

// Flush pushes buffered lines to the file; the runtime calls it once per tick.
func (jw *JournalWriter) Flush() error {
	if jw.err == nil {
		jw.err = jw.w.Flush()
	}
	return jw.err
}

// Close writes the end line for a run that stopped after tick end, and
// closes the file. A run that never ticked (end 0) gets no end line.
func (jw *JournalWriter) Close(end uint64) error {
	if end > 0 {
		jw.writeLine(journalEnd{End: end})
	}
	err := jw.Flush()
	if cerr := jw.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (jw *JournalWriter) writeLine(v any) {
	if jw.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		jw.err = err
		return
	}
	data = append(data, '\n')
	_, jw.err = jw.w.Write(data)
}
