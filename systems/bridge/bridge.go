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
	"github.com/rayos/engine/world/marker"
)

// Ack is one line for the control socket: the answer of a request, or a
// notice about it (the policy asking for confirmation) that its client
// gets before the answer.
type Ack struct {
	Request uint64
	Line    string
	Notice  bool
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
	"confirm":  {components.ActionConfirm, "[ID]"},
	"cancel":   {components.ActionCancel, "[ID]"},
	"status":   {0, "[VM]"},
	"pending":  {0, ""},
}

// opNames lists the ops for error messages, in the order users meet them.
const opNames = "start, present, hide, shutdown, suspend, resume, type, press, mouse, click, confirm, cancel, pending, status"

// Requests turns control-socket requests into host events and intents.
type Requests struct {
	out      *Outbox
	inputs   *ecs.Filter1[components.Input]
	guests   *ecs.Filter1[components.Guest]
	pendings *ecs.Filter1[components.PendingConfirmation]
	guestMap *ecs.Map1[components.Guest]
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
	s.pendings = ecs.NewFilter1[components.PendingConfirmation](w.ECS).Register()
	s.guestMap = ecs.NewMap1[components.Guest](w.ECS)
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
		ack(w, s.out, request, op, false, "unknown op (want one of "+opNames+")")
		return
	}
	switch op {
	case "status":
		ack(w, s.out, request, op, true, s.status(rest))
		return
	case "pending":
		if rest != "" {
			ack(w, s.out, request, op, false, fmt.Sprintf("unexpected %q (usage: pending)", rest))
			return
		}
		ack(w, s.out, request, op, true, s.pending(w))
		return
	case "confirm", "cancel":
		if _, err := strconv.ParseUint(rest, 10, 64); rest != "" && (err != nil || strings.Contains(rest, " ")) {
			ack(w, s.out, request, op, false, fmt.Sprintf("%q is not a request id (usage: %s %s; see: pending)", rest, op, spec.Args))
			return
		}
		s.made = append(s.made, components.IntentEnvelope{
			Action: spec.Action, Confidence: 1, Status: components.IntentPending,
			Source: in.Seq, Order: in.Seq, Argument: rest, Tick: w.Clock.Tick, Request: request, Client: in.Client,
		})
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
		Source: in.Seq, Order: in.Seq, Argument: arg, Tick: w.Clock.Tick, Request: request, Client: in.Client,
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

// pending lists the requests waiting for confirmation, oldest first:
// "17 shutdown linux rule=guests.linux.confirm client=3 expires=3017, …",
// or "none". The id is what "confirm ID" and "cancel ID" take.
func (s *Requests) pending(w *world.World) string {
	type waiting struct {
		env *components.IntentEnvelope
		pc  *components.PendingConfirmation
	}
	var list []waiting
	q := s.pendings.Query()
	for q.Next() {
		pc := q.Get()
		if e, ok := w.Resolve(pc.Envelope); ok && s.envelope.HasAll(e) && s.envelope.Get(e).Status == components.IntentConfirm {
			list = append(list, waiting{s.envelope.Get(e), pc})
		}
	}
	if len(list) == 0 {
		return "none"
	}
	slices.SortFunc(list, func(a, b waiting) int { return cmp.Compare(a.env.Source, b.env.Source) })
	items := make([]string, len(list))
	for i, it := range list {
		what := components.IntentActionNames[it.env.Action]
		if g, ok := w.Resolve(it.env.Target); ok && s.guestMap.HasAll(g) {
			what += " " + s.guestMap.Get(g).ID
		}
		if it.env.Argument != "" {
			what += " " + it.env.Argument
		}
		items[i] = fmt.Sprintf("%d %s rule=%s client=%d expires=%d", it.env.Source, what, it.pc.Rule, it.env.Client, it.pc.Expires)
	}
	return strings.Join(items, ", ")
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
		op := components.IntentActionNames[env.Action]
		switch env.Status {
		case components.IntentConfirm:
			if !env.Notified {
				env.Notified = true
				s.out.Acks = append(s.out.Acks, Ack{Request: env.Request, Line: marker.Audit("policy-confirm", env.Detail).String(), Notice: true})
			}
			continue
		case components.IntentDone:
			ack(w, s.out, env.Request, op, true, env.Detail)
		default:
			ack(w, s.out, env.Request, op, false, env.Detail)
		}
		env.Acked = true
	}
}
