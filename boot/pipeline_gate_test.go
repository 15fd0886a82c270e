package boot_test

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
	"pgregory.net/rapid"
)

// gateChecks is how many random sequences the property test tries, unless
// -rapid.checks says otherwise.
const gateChecks = 10000

// The gate's invariants under random sequences of requests from several
// clients and the local user — present/hide, injections, lifecycle,
// confirmations and cancels (with and without ids), policy reloads (valid,
// invalid, revoking), guest crashes and hypervisor loss, key and pointer
// inputs as journals, the viewer page and evdev feed them (through the
// input broker), focus moved by gaze and by clicks — with the
// simulated hypervisor and with one whose jobs complete whenever the test
// says. Never an injection into a guest that is not presented or not
// allowed it at that moment; never an action the policy in force at that
// moment forbids; every injection allowed is audited as carried out or
// refused; exactly one ACK per request.
func TestGateInvariantsHoldUnderRandomRequests(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		flag.Set("rapid.checks", strconv.Itoa(gateChecks))
		defer flag.Set("rapid.checks", f.DefValue)
	}
	rapid.Check(t, func(t *rapid.T) {
		h := newGateHarness(t, rapid.Bool().Draw(t, "simulated"))
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for range steps {
			h.step(t)
		}
		h.drain(t)
		h.checkAcks(t)
		h.checkAudited(t)
	})
}

var (
	gateGuests   = []string{"linux", "windows"}
	gateOps      = []string{"present", "hide", "type", "press", "mouse", "click", "start", "shutdown", "suspend", "resume", "confirm", "cancel", "pending", "status", "fly", ""}
	gateArgs     = map[string]string{"type": "x", "press": "enter", "mouse": "1 2", "click": "left"}
	gateActions  = []string{"start", "resume", "present", "shutdown"}
	gateInputs   = []string{"type", "press", "mouse", "click"}
	gateConfirms = []string{"start", "shutdown", "present", "type"}
)

// job is hypervisor work the test's executor holds until the test
// delivers or fails it.
type job struct {
	source uint64
	action components.IntentAction
	vm     string
}

// gateHarness is a world with the request path of the runtime (input,
// intent, host bridge, policy gate, effects, host ACKs) and an executor the
// test drives.
type gateHarness struct {
	w         *world.World
	sched     *world.Scheduler
	out       *bridge.Outbox
	cur       *policy.Current
	simulated bool
	jobs      []job
	grants    map[string]components.ActionSet
	down      bool
	acks      map[uint32]int
	nextReq   uint32
	sources   []uint64
	failure   string
	// allowed and finished are the sources of the input injections the
	// gate allowed and of those effects finished (with an audit).
	allowed, finished map[string]bool
	desktops          []ecs.Entity
}

func newGateHarness(t *rapid.T, simulated bool) *gateHarness {
	h := &gateHarness{simulated: simulated, grants: map[string]components.ActionSet{}, acks: map[uint32]int{},
		allowed: map[string]bool{}, finished: map[string]bool{}}
	bus := marker.NewBus(markerCheck{h})
	h.w = world.New(world.Config{Hz: 10}, bus)
	guests := ecs.NewMap1[components.Guest](h.w.ECS)
	for _, e := range scene.AddGuests(h.w, []scene.GuestSpec{{ID: "linux", OS: components.OSLinux}, {ID: "windows", OS: components.OSWindows}}) {
		g := guests.Get(e)
		g.State = rapid.SampledFrom([]components.GuestState{components.GuestDefined, components.GuestHidden, components.GuestStopped, components.GuestPresented}).Draw(t, g.ID+".state")
		d, _ := h.w.Resolve(g.Desktop)
		h.desktops = append(h.desktops, d)
		if g.State == components.GuestPresented { // shown from the start, so that user input has somewhere to go
			g.Presented = true
			ecs.NewMap1[components.Surface](h.w.ECS).Get(d).Flags |= components.SurfaceVisible | components.SurfacePresented
		}
	}
	// RayOS's own window over part of linux's desktop, a layer up.
	h.desktops = append(h.desktops, ecs.NewMap1[components.Surface](h.w.ECS).NewEntity(&components.Surface{
		Rect: components.Rect{X: 1000, Y: 100, W: 300, H: 300}, Flags: components.SurfaceVisible, Layer: 2}))
	p, err := policy.Load("random", h.policyText(t))
	if err != nil {
		t.Fatalf("generated policy: %v", err)
	}
	h.cur = policy.Install(h.w.ECS, p)
	if _, err := gpu.Install(h.w.ECS, gpu.NewCPU(), gpu.MirrorConfig{FrameWidth: 4, FrameHeight: 4}); err != nil {
		t.Fatal(err)
	}
	hv := &effects.Hypervisor{}
	if !simulated {
		hv.Executor = h
	}
	ecs.AddResource(h.w.ECS, hv)
	h.out = bridge.Install(h.w.ECS)
	h.sched, err = world.NewScheduler(h.w, input.New(), input.NewBroker(), intent.New(), bridge.NewRequests(), policy.NewGate(), effects.New(), bridge.NewAcks())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// policyText draws a valid policy: random permissions, inputs and
// confirmations for each guest, a 1 s confirmation timeout.
func (h *gateHarness) policyText(t *rapid.T) string {
	var b strings.Builder
	b.WriteString("version = 1\n[intent]\nconfirm_timeout_s = 1\n")
	for _, id := range gateGuests {
		if rapid.IntRange(0, 5).Draw(t, "guest-absent") == 0 {
			continue
		}
		fmt.Fprintf(&b, "[guests.%s]\n", id)
		for _, a := range gateActions {
			fmt.Fprintf(&b, "%s = %t\n", a, rapid.Bool().Draw(t, id+"."+a))
		}
		fmt.Fprintf(&b, "inputs = %s\n", tomlList(subset(t, gateInputs, id+".inputs")))
		fmt.Fprintf(&b, "confirm = %s\n", tomlList(subset(t, gateConfirms, id+".confirm")))
	}
	return b.String()
}

func subset(t *rapid.T, from []string, label string) []string {
	var out []string
	for _, v := range from {
		if rapid.Bool().Draw(t, label+"."+v) {
			out = append(out, v)
		}
	}
	return out
}

func tomlList(items []string) string {
	quoted := make([]string, len(items))
	for i, v := range items {
		quoted[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// step does one random thing between ticks, then maybe ticks.
func (h *gateHarness) step(t *rapid.T) {
	switch rapid.IntRange(0, 13).Draw(t, "what") {
	case 9, 10, 11:
		h.userInput(t)
	case 12:
		h.gazeFocus(t)
	case 0, 1, 2, 3:
		h.request(t)
	case 4:
		text := rapid.SampledFrom([]string{"confirm", "cancel", "present linux", "type linux hi", "hide windows", "shutdown linux"}).Draw(t, "text")
		h.feed(components.Input{Kind: components.InputText, Text: text})
	case 5:
		text := "version = 1\n[guests.linux]\ncpus = 0\n" // refused whole
		if rapid.IntRange(0, 3).Draw(t, "valid") > 0 {
			text = h.policyText(t)
		}
		h.feed(components.Input{Kind: components.InputPolicy, Text: text})
	case 6:
		id := rapid.SampledFrom(gateGuests).Draw(t, "crashing")
		h.feed(components.Input{Kind: components.InputGuestEvent, Text: id + " " + rapid.SampledFrom([]string{"crashed", "started", "stopped"}).Draw(t, "event")})
	case 7:
		if !h.simulated {
			h.hypervisorLoss(t)
		}
	case 8:
		if !h.simulated && len(h.jobs) > 0 {
			h.deliver(t, rapid.Bool().Draw(t, "job-fails"))
		}
	}
	for range rapid.IntRange(0, 3).Draw(t, "ticks") {
		h.tick(t)
	}
}

// userInput feeds a key or pointer input, as a journal, the viewer page
// or evdev would: keys (modifiers among them) and pointer motion and
// presses over the guests' desktops, RayOS's window, or nothing.
func (h *gateHarness) userInput(t *rapid.T) {
	device := uint32(rapid.IntRange(1, 2).Draw(t, "device"))
	if rapid.Bool().Draw(t, "is-key") {
		key := rapid.SampledFrom([]uint16{29, 42, 56, 30, 28, 111, 200}).Draw(t, "key")
		h.feed(components.Input{Kind: components.InputKey, Device: device, Key: key, Pressed: rapid.Bool().Draw(t, "pressed")})
		return
	}
	for range rapid.IntRange(1, 20).Draw(t, "motions") {
		x := rapid.SampledFrom([]float32{5, 600, 1050, 1300, 1500}).Draw(t, "x")
		y := rapid.SampledFrom([]float32{5, 170, 300, 550}).Draw(t, "y")
		buttons := rapid.SampledFrom([]uint32{0, 0, 0, 1, 2, 4}).Draw(t, "buttons")
		h.feed(components.Input{Kind: components.InputPointer, Device: device, Pointer: [2]float32{x, y}, Buttons: buttons})
	}
}

// gazeFocus moves the focus as gaze would: onto a surface, onto nothing,
// or onto a surface that has died since.
func (h *gateHarness) gazeFocus(t *rapid.T) {
	f := h.w.Focus
	switch i := rapid.IntRange(0, len(h.desktops)+1).Draw(t, "gaze"); {
	case i < len(h.desktops):
		f.Surface, f.Since, f.By = world.Ref(h.desktops[i]), h.w.Clock.Tick, components.FocusGaze
	case i == len(h.desktops):
		*f = components.Focus{}
	default:
		f.Surface, f.By = components.EntityRef{ID: 999, Gen: 3}, components.FocusGaze
	}
}

// request sends one control-socket line from one of three clients.
func (h *gateHarness) request(t *rapid.T) {
	op := rapid.SampledFrom(gateOps).Draw(t, "op")
	line := op
	switch op {
	case "confirm", "cancel":
		if len(h.sources) > 0 && rapid.Bool().Draw(t, "with-id") {
			line += " " + strconv.FormatUint(rapid.SampledFrom(h.sources).Draw(t, "id"), 10)
		}
	case "pending", "status", "fly", "":
	default:
		line += " " + rapid.SampledFrom([]string{"linux", "windows", "mac"}).Draw(t, "vm")
		if arg := gateArgs[op]; arg != "" {
			line += " " + arg
		}
	}
	h.nextReq++
	client := uint32(rapid.IntRange(1, 3).Draw(t, "client"))
	in := h.feed(components.Input{Kind: components.InputHost, Device: h.nextReq, Client: client, Text: line})
	h.acks[h.nextReq] += 0
	h.sources = append(h.sources, in.Seq)
}

func (h *gateHarness) feed(in components.Input) components.Input {
	return h.w.Inbox.Feed(h.w.Clock, in)
}

// tick runs one tick and counts the ACKs it answered, as the runtime's
// loop hands them to the control socket.
func (h *gateHarness) tick(t *rapid.T) {
	h.sched.Tick(h.w)
	for _, a := range h.out.Acks {
		if !a.Notice {
			h.acks[uint32(a.Request)]++
		}
	}
	h.out.Acks = h.out.Acks[:0]
	if h.failure != "" {
		t.Fatal(h.failure)
	}
	h.checkGuests(t)
}

// checkGuests: a guest is on screen exactly when it is presented — its
// state, its flag and its desktop surface agree after every tick.
func (h *gateHarness) checkGuests(t *rapid.T) {
	surfaces := ecs.NewMap1[components.Surface](h.w.ECS)
	q := ecs.NewFilter1[components.Guest](h.w.ECS).Query()
	defer q.Close()
	for q.Next() {
		g := q.Get()
		e, _ := h.w.Resolve(g.Desktop)
		visible := surfaces.Get(e).Flags&components.SurfaceVisible != 0
		if presented := g.State == components.GuestPresented; presented != g.Presented || visible != g.Presented {
			t.Fatalf("guest %s: state %s, presented %t, surface visible %t", g.ID, components.GuestStateNames[g.State], g.Presented, visible)
		}
	}
}

// Execute implements effects.Executor: the job waits for the test.
func (h *gateHarness) Execute(source uint64, action components.IntentAction, vm, arg string) {
	if h.down {
		h.feed(components.Input{Kind: components.InputEffect, Device: uint32(source), Text: "err: the hypervisor is unavailable (reconnecting)"})
		return
	}
	h.jobs = append(h.jobs, job{source, action, vm})
}

// Grant implements effects.Executor.
func (h *gateHarness) Grant(vm string, actions components.ActionSet) { h.grants[vm] = actions }

// deliver carries out the oldest job as the supervisor does: refused
// unless granted at this moment; carried out, it must be something the
// world allows at this moment.
func (h *gateHarness) deliver(t *rapid.T, fails bool) {
	j := h.jobs[0]
	h.jobs = h.jobs[1:]
	result := "ok"
	switch {
	case h.grants[j.vm]&(1<<j.action) == 0:
		result = "err: not granted"
	case fails:
		result = "err: the domain failed"
	default:
		if why := h.forbidden(j.vm, j.action); why != "" {
			t.Fatalf("hypervisor carried out %s on %s: %s", components.IntentActionNames[j.action], j.vm, why)
		}
	}
	h.feed(components.Input{Kind: components.InputEffect, Device: uint32(j.source), Text: result})
}

// hypervisorLoss fails every queued job, reports the loss, and later the
// reconnection with every guest's state as the hypervisor sees it.
func (h *gateHarness) hypervisorLoss(t *rapid.T) {
	if h.down {
		h.down = false
		for _, id := range gateGuests {
			state := rapid.SampledFrom([]string{"hidden", "stopped", "suspended"}).Draw(t, "reconciled-state")
			h.feed(components.Input{Kind: components.InputGuestEvent, Text: id + " is:" + state})
		}
		h.feed(components.Input{Kind: components.InputGuestEvent, Text: "- reconciled"})
		return
	}
	h.down = true
	h.feed(components.Input{Kind: components.InputGuestEvent, Text: "- lost"})
	for _, j := range h.jobs {
		h.feed(components.Input{Kind: components.InputEffect, Device: uint32(j.source), Text: "err: the hypervisor is unavailable (reconnecting)"})
	}
	h.jobs = nil
}

// forbidden says why doing action to guest id right now breaks the
// invariants, or "" when it does not: the policy in force must not deny
// it, and input goes only into a presented guest.
func (h *gateHarness) forbidden(id string, action components.IntentAction) string {
	q := ecs.NewFilter1[components.Guest](h.w.ECS).Query()
	defer q.Close()
	for q.Next() {
		g := q.Get()
		if g.ID != id {
			continue
		}
		p := h.cur.Policy
		if d := p.Decide(p.Guest(id), action, 1, g.Presented); d.Verdict == policy.Deny {
			return "the policy in force denies it (rule " + p.Rule(d.Rule) + ")"
		}
		if components.InputActions&(1<<action) != 0 && (!g.Presented || g.State != components.GuestPresented) {
			return "the guest is " + components.GuestStateNames[g.State] + ", not presented"
		}
		return ""
	}
	return "no such guest"
}

// markerCheck watches the marker stream as it is emitted, inside the tick:
// an injection the simulated hypervisor delivers and every presentation
// are checked against the world at that very moment.
type markerCheck struct{ h *gateHarness }

func (m markerCheck) Write(line []byte) (int, error) {
	mk, err := marker.Parse(strings.TrimSuffix(string(line), "\n"))
	if err != nil {
		m.h.failure = fmt.Sprintf("marker %q does not parse: %v", line, err)
		return len(line), nil
	}
	switch mk.Kind {
	case marker.KindAudit:
		action, detail := mk.Fields[0], mk.Fields[1]
		m.h.noteAudit(action, detail)
		if !m.h.simulated || !strings.Contains(detail, "result=ok delivered") {
			break
		}
		id := strings.TrimPrefix(strings.Fields(detail)[0], "guest=")
		for a, name := range components.IntentActionNames {
			if name == action && m.h.failure == "" {
				if why := m.h.forbidden(id, components.IntentAction(a)); why != "" {
					m.h.failure = fmt.Sprintf("%s delivered into %s: %s", action, id, why)
				}
			}
		}
	case marker.KindGuest:
		if mk.Fields[1] == "presented" && m.h.failure == "" {
			if why := m.h.forbidden(mk.Fields[0], components.ActionPresent); why != "" {
				m.h.failure = "presented " + mk.Fields[0] + ": " + why
			}
		}
	}
	return len(line), nil
}

// noteAudit records allowed and finished input injections by source.
func (h *gateHarness) noteAudit(action, detail string) {
	field := func(name string) string {
		for _, f := range strings.Fields(detail) {
			if v, ok := strings.CutPrefix(f, name+"="); ok {
				return v
			}
		}
		return ""
	}
	if action == "policy-allow" || action == "confirmed" {
		if a := field("action"); slices.Contains(gateInputs, a) {
			h.allowed[a+" "+field("source")] = true
		}
		return
	}
	if slices.Contains(gateInputs, action) && field("result") != "" {
		h.finished[action+" "+field("source")] = true
	}
}

// checkAudited: every injection the gate allowed was carried out or
// refused by effects, with its audit.
func (h *gateHarness) checkAudited(t *rapid.T) {
	for k := range h.allowed {
		if !h.finished[k] {
			t.Fatalf("injection %s was allowed but never audited as carried out or refused", k)
		}
	}
}

// drain lets everything finish: queued jobs complete, confirmations time
// out (1 s = 10 ticks).
func (h *gateHarness) drain(t *rapid.T) {
	h.down = false
	for range 30 {
		for len(h.jobs) > 0 {
			h.deliver(t, false)
		}
		h.tick(t)
	}
}

// checkAcks: every request got exactly one ACK.
func (h *gateHarness) checkAcks(t *rapid.T) {
	for req, n := range h.acks {
		if n != 1 {
			t.Fatalf("request %d got %d ACKs", req, n)
		}
	}
}
