package bridge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// Ack is one answer for the control socket.
type Ack struct {
	Request uint64
	Line    string
}

// Outbox is the world resource holding this tick's answers; the runtime
// drains it after every tick and writes each to its client.
type Outbox struct {
	Acks []Ack
}

// Install adds an empty Outbox to w.
func Install(w *ecs.World) *Outbox {
	o := &Outbox{}
	ecs.AddResource(w, o)
	return o
}

func outboxOf(w *world.World) (*Outbox, error) {
	if o := ecs.GetResource[Outbox](w.ECS); o != nil {
		return o, nil
	}
	return nil, fmt.Errorf("host bridge needs its outbox: install it with bridge.Install")
}

// ack emits the marker and queues the answer.
func ack(w *world.World, out *Outbox, request uint64, op string, ok bool, detail string) {
	m := marker.HostAck(op, ok, detail)
	w.Emit(m)
	out.Acks = append(out.Acks, Ack{Request: request, Line: m.String()})
}

// Ops are the control-plane operations and what they take.
var Ops = map[string]struct {
	Action components.IntentAction
	Args   string // usage after the op
}{
	"start":    {components.ActionStart, "VM"},
	"present":  {components.ActionPresent, "VM"},
	"hide":     {components.ActionHide, "VM"},
	"shutdown": {components.ActionShutdown, "VM"},
	"suspend":  {components.ActionSuspend, "VM"},
	"resume":   {components.ActionResume, "VM"},
	"type":     {components.ActionType, "VM TEXT"},
	"press":    {components.ActionPress, "VM KEY"},
	"mouse":    {components.ActionMouse, "VM X Y"},
	"click":    {components.ActionClick, "VM [left|right|middle]"},
	"status":   {0, "[VM]"},
}

// Requests turns control-socket requests into host events and intents.
type Requests struct {
	out      *Outbox
	inputs   *ecs.Filter1[components.Input]
	guests   *ecs.Filter1[components.Guest]
	envelope *ecs.Map1[components.IntentEnvelope]
	lines    []components.Input
	made     []components.IntentEnvelope
}

// NewRequests returns the host-bridge system.
func NewRequests() *Requests { return &Requests{} }

// Describe implements world.System.
func (s *Requests) Describe() world.Description {
	return world.Description{
		Name:    "host-bridge",
		Purpose: "turn control-socket requests into RAYOS_HOST_EVENT_V0 markers and intent envelopes (answering malformed ones and status at once)",
		Reads:   []string{"Input(host)", "Guest"},
		Writes:  []string{"IntentEnvelope", "Outbox"},
	}
}

// Init implements world.System.
func (s *Requests) Init(w *world.World) (err error) {
	s.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	s.guests = ecs.NewFilter1[components.Guest](w.ECS).Register()
	s.envelope = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	s.out, err = outboxOf(w)
	return err
}

// Run implements world.System.
func (s *Requests) Run(w *world.World) {
	s.lines = s.lines[:0]
	q := s.inputs.Query()
	for q.Next() {
		if in := q.Get(); in.Kind == components.InputHost {
			s.lines = append(s.lines, *in)
		}
	}
	if len(s.lines) == 0 {
		return
	}
	s.made = s.made[:0]
	for i := range s.lines {
		s.request(w, &s.lines[i])
	}
	for i := range s.made {
		s.envelope.NewEntity(&s.made[i])
	}
}

func (s *Requests) request(w *world.World, in *components.Input) {
	request := uint64(in.Device)
	op, rest, _ := strings.Cut(strings.TrimSpace(in.Text), " ")
	rest = strings.TrimSpace(rest)
	w.Emit(marker.HostEvent(op, rest))
	spec, known := Ops[op]
	if !known {
		ack(w, s.out, request, op, false, "unknown op (want one of start, present, hide, shutdown, suspend, resume, type, press, mouse, click, status)")
		return
	}
	if op == "status" {
		ack(w, s.out, request, op, true, s.status(rest))
		return
	}
	vm, arg, _ := strings.Cut(rest, " ")
	arg = strings.TrimSpace(arg)
	if err := checkArgs(op, vm, arg); err != nil {
		ack(w, s.out, request, op, false, fmt.Sprintf("%v (usage: %s %s)", err, op, spec.Args))
		return
	}
	guest, ok := s.guest(vm)
	if !ok {
		ack(w, s.out, request, op, false, fmt.Sprintf("unknown vm %q", vm))
		return
	}
	s.made = append(s.made, components.IntentEnvelope{
		Action: spec.Action, Target: world.Ref(guest), Confidence: 1, Status: components.IntentPending,
		Source: in.Seq, Argument: arg, Tick: w.Clock.Tick, Request: request,
	})
}

func checkArgs(op, vm, arg string) error {
	if vm == "" {
		return fmt.Errorf("missing VM")
	}
	switch op {
	case "type", "press":
		if arg == "" {
			return fmt.Errorf("missing %s", map[string]string{"type": "TEXT", "press": "KEY"}[op])
		}
		if op == "press" {
			if _, ok := KeyCode(arg); !ok {
				return fmt.Errorf("unknown key %q", arg)
			}
		}
		if op == "type" {
			if _, ok := Keystrokes(arg); !ok {
				return fmt.Errorf("text has a character with no key on a US keyboard")
			}
		}
	case "mouse":
		x, y, ok := strings.Cut(arg, " ")
		if _, err := strconv.ParseInt(x, 10, 32); !ok || err != nil {
			return fmt.Errorf("mouse needs integer X and Y")
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(y), 10, 32); err != nil {
			return fmt.Errorf("mouse needs integer X and Y")
		}
	case "click":
		if arg != "" && arg != "left" && arg != "right" && arg != "middle" {
			return fmt.Errorf("unknown button %q", arg)
		}
	default:
		if arg != "" {
			return fmt.Errorf("unexpected %q", arg)
		}
	}
	return nil
}

func (s *Requests) guest(id string) (ecs.Entity, bool) {
	q := s.guests.Query()
	defer q.Close()
	for q.Next() {
		if q.Get().ID == id {
			return q.Entity(), true
		}
	}
	return ecs.Entity{}, false
}

// status describes every guest (or one): "linux=hidden windows=stopped".
func (s *Requests) status(only string) string {
	var parts []string
	q := s.guests.Query()
	for q.Next() {
		g := q.Get()
		if only == "" || g.ID == only {
			parts = append(parts, g.ID+"="+components.GuestStateNames[g.State])
		}
	}
	if len(parts) == 0 {
		return "no such vm " + only
	}
	return strings.Join(parts, " ")
}

// Acks answers every control-socket request whose intent has finished.
type Acks struct {
	out       *Outbox
	envelopes *ecs.Filter1[components.IntentEnvelope]
}

// NewAcks returns the host-ack system.
func NewAcks() *Acks { return &Acks{} }

// Describe implements world.System.
func (s *Acks) Describe() world.Description {
	return world.Description{
		Name:    "host-ack",
		Purpose: "emit exactly one RAYOS_HOST_ACK per control-socket request once its intent is done, failed or denied",
		Reads:   []string{"IntentEnvelope"},
		Writes:  []string{"IntentEnvelope.Acked", "Outbox"},
	}
}

// Init implements world.System.
func (s *Acks) Init(w *world.World) (err error) {
	s.envelopes = ecs.NewFilter1[components.IntentEnvelope](w.ECS).Register()
	s.out, err = outboxOf(w)
	return err
}

// Run implements world.System.
func (s *Acks) Run(w *world.World) {
	q := s.envelopes.Query()
	for q.Next() {
		env := q.Get()
		if env.Request == 0 || env.Acked {
			continue
		}
		op := components.IntentActionNames[env.Action]
		switch env.Status {
		case components.IntentDone:
			ack(w, s.out, env.Request, op, true, env.Detail)
		case components.IntentDenied, components.IntentFailed:
			ack(w, s.out, env.Request, op, false, env.Detail)
		default:
			continue
		}
		env.Acked = true
	}
}
