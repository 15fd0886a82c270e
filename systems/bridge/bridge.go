package bridge

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/keys"
	"github.com/rayos/engine/world/marker"
)

// Ack is one line for the control socket: the answer of a request, or a
// notice about it (the policy asking for confirmation) that its client
// gets before the answer.
type Ack struct {
	Request uint64
	// Client is the control-socket connection the request came from; 0
	// for requests that came from a journal, which no connection waits for.
	Client uint32
	Line   string
	Notice bool
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
func ack(w *world.World, out *Outbox, request uint64, client uint32, op string, ok bool, detail string) {
	m := marker.HostAck(op, ok, detail)
	w.Emit(m)
	out.Acks = append(out.Acks, Ack{Request: request, Client: client, Line: m.String()})
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
	"confirm":  {components.ActionConfirm, "[ID]"},
	"cancel":   {components.ActionCancel, "[ID]"},
	"status":   {components.ActionStatus, "[VM]"},
	"pending":  {components.ActionPending, ""},
	// say is resolved by intent resolution, which reads the same request
	// line: the bridge only announces it.
	"say": {components.ActionSay, "UTTERANCE"},
}

// opNames lists the ops for error messages, in the order users meet them.
const opNames = "say, start, present, hide, shutdown, suspend, resume, type, press, mouse, click, confirm, cancel, pending, status"

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
		Purpose: "turn control-socket requests into RAYOS_HOST_EVENT_V0 markers and intent envelopes (answering malformed ones at once)",
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
	op, rest := cutWord(in.Text)
	w.Emit(marker.HostEvent(op, rest))
	refuse := func(why string) { ack(w, s.out, request, in.Client, op, false, why) }
	spec, known := Ops[op]
	if !known {
		refuse("unknown op (want one of " + opNames + ")")
		return
	}
	env := components.IntentEnvelope{
		Action: spec.Action, Confidence: 1, Status: components.IntentPending,
		Source: in.Seq, Order: in.Seq, Tick: w.Clock.Tick, Request: request, Client: in.Client,
	}
	switch op {
	case "say":
		// Intent resolution answers it, in this same tick (it reads the
		// request line itself; an empty utterance too).
		return
	case "status", "pending":
		// Reads take effect in their place in the request order: effects
		// answer them after the requests received before them.
		if op == "pending" && rest != "" {
			refuse(fmt.Sprintf("unexpected %q (usage: pending)", rest))
			return
		}
		if op == "status" && rest != "" {
			if _, ok := s.guest(rest); !ok {
				refuse(fmt.Sprintf("unknown vm %q", rest))
				return
			}
		}
		env.Status, env.Argument = components.IntentAllowed, rest
		s.made = append(s.made, env)
		return
	case "confirm", "cancel":
		if _, err := strconv.ParseUint(rest, 10, 64); rest != "" && err != nil {
			refuse(fmt.Sprintf("%q is not a request id (usage: %s %s; see: pending)", rest, op, spec.Args))
			return
		}
		env.Argument = rest
		s.made = append(s.made, env)
		return
	}
	vm, arg := cutWord(rest)
	if err := checkArgs(op, vm, arg); err != nil {
		refuse(fmt.Sprintf("%v (usage: %s %s)", err, op, spec.Args))
		return
	}
	guest, ok := s.guest(vm)
	if !ok {
		refuse(fmt.Sprintf("unknown vm %q", vm))
		return
	}
	env.Target, env.Argument = world.Ref(guest), arg
	s.made = append(s.made, env)
}

// cutWord splits a request at its first run of spaces or tabs.
func cutWord(text string) (word, rest string) {
	text = strings.TrimSpace(text)
	i := strings.IndexAny(text, " \t")
	if i < 0 {
		return text, ""
	}
	return text[:i], strings.TrimSpace(text[i:])
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
			if _, err := keys.Chord(arg); err != nil {
				return err
			}
		}
		if op == "type" {
			if _, ok := keys.Text(arg); !ok {
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

// Acks answers every control-socket request whose intent has finished.
type Acks struct {
	out       *Outbox
	envelopes *ecs.Filter1[components.IntentEnvelope]
	ready     []*components.IntentEnvelope
}

// NewAcks returns the host-ack system.
func NewAcks() *Acks { return &Acks{} }

// Describe implements world.System.
func (s *Acks) Describe() world.Description {
	return world.Description{
		Name:    "host-ack",
		Purpose: "emit exactly one RAYOS_HOST_ACK per control-socket request once its intent is done, failed or denied, in request order; tell the client when its request waits for confirmation",
		Reads:   []string{"IntentEnvelope"},
		Writes:  []string{"IntentEnvelope.Acked", "IntentEnvelope.Notified", "Outbox"},
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
	s.ready = s.ready[:0]
	q := s.envelopes.Query()
	for q.Next() {
		env := q.Get()
		if env.Request == 0 || env.Acked {
			continue
		}
		switch env.Status {
		case components.IntentConfirm, components.IntentDone, components.IntentDenied, components.IntentFailed:
			s.ready = append(s.ready, env)
		}
	}
	// The marker stream answers in request order, as each client's
	// connection does.
	slices.SortFunc(s.ready, func(a, b *components.IntentEnvelope) int { return cmp.Compare(a.Order, b.Order) })
	for _, env := range s.ready {
		if env.Understood != "" && !env.Announced {
			// A said request: its client hears how it was understood first.
			env.Announced = true
			s.out.Acks = append(s.out.Acks, Ack{Request: env.Request, Client: env.Client, Line: env.Understood, Notice: true})
		}
		op := components.IntentActionNames[env.Action]
		switch env.Status {
		case components.IntentConfirm:
			if !env.Notified {
				env.Notified = true
				s.out.Acks = append(s.out.Acks, Ack{Request: env.Request, Client: env.Client, Line: marker.Audit("policy-confirm", env.Detail).String(), Notice: true})
			}
			continue
		case components.IntentDone:
			ack(w, s.out, env.Request, env.Client, op, true, env.Detail)
		default:
			ack(w, s.out, env.Request, env.Client, op, false, env.Detail)
		}
		env.Acked = true
	}
}
