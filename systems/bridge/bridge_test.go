package bridge_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// press takes a chord; a misspelled key is answered with the closest
// names and makes no envelope.
func TestPressChord(t *testing.T) {
	var out bytes.Buffer
	w := world.New(world.Config{Hz: 60}, marker.NewBus(&out))
	ecs.NewMap1[components.Guest](w.ECS).NewEntity(&components.Guest{ID: "linux", State: components.GuestPresented})
	bridge.Install(w.ECS)
	sched, err := world.NewScheduler(w, input.New(), bridge.NewRequests(), bridge.NewAcks())
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range []string{"press linux ctrl+alt+delete", "press linux ctrl+alt+delet"} {
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputHost, Device: uint32(i + 1), Text: line})
	}
	sched.Tick(w)
	if want := `RAYOS_HOST_ACK:press:err:unknown key "delet" (did you mean delete?)`; !strings.Contains(out.String(), want) {
		t.Errorf("markers lack %q:\n%s", want, out.String())
	}
	q := ecs.NewFilter1[components.IntentEnvelope](w.ECS).Query()
	n := 0
	for q.Next() {
		if env := q.Get(); env.Argument != "ctrl+alt+delete" || env.Action != components.ActionPress {
			t.Errorf("envelope %+v", env)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d envelopes, want 1 (the chord)", n)
	}
}

// Each request is a host event and either an immediate answer or an
// envelope that carries the request id for its ACK.
func TestRequestsBecomeEventsAndEnvelopes(t *testing.T) {
	var out bytes.Buffer
	w := world.New(world.Config{Hz: 60}, marker.NewBus(&out))
	ecs.NewMap1[components.Guest](w.ECS).NewEntity(&components.Guest{ID: "linux", State: components.GuestHidden})
	box := bridge.Install(w.ECS)
	sched, err := world.NewScheduler(w, input.New(), bridge.NewRequests(), bridge.NewAcks())
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range []string{"status mac", "present\tlinux", "type linux", "press linux nokey", "mouse linux 1 two", "start mac", "warp linux", "hide linux extra"} {
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputHost, Device: uint32(i + 1), Text: line})
	}
	sched.Tick(w)
	got := out.String()
	for _, want := range []string{
		"RAYOS_HOST_EVENT_V0:status:mac\n", `RAYOS_HOST_ACK:status:err:unknown vm "mac"`,
		"RAYOS_HOST_EVENT_V0:present:linux\n",
		"RAYOS_HOST_ACK:type:err:missing TEXT", `RAYOS_HOST_ACK:press:err:unknown key "nokey"`,
		"RAYOS_HOST_ACK:mouse:err:mouse needs integer X and Y", `RAYOS_HOST_ACK:start:err:unknown vm "mac"`,
		"RAYOS_HOST_ACK:warp:err:unknown op", `RAYOS_HOST_ACK:hide:err:unexpected "extra"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("markers lack %q:\n%s", want, got)
		}
	}
	if len(box.Acks) != 7 {
		t.Errorf("%d answers queued, want 7 (all but present)", len(box.Acks))
	}
	q := ecs.NewFilter1[components.IntentEnvelope](w.ECS).Query()
	n := 0
	for q.Next() {
		env := q.Get()
		n++
		if env.Action != components.ActionPresent || env.Request != 2 || env.Confidence != 1 || env.Status != components.IntentPending {
			t.Errorf("envelope %+v", env)
		}
		// The gate and effects would finish it; the ACK follows once.
		env.Status, env.Detail = components.IntentDone, "presented"
	}
	if n != 1 {
		t.Fatalf("%d envelopes, want 1", n)
	}
	box.Acks = box.Acks[:0]
	sched.Tick(w)
	sched.Tick(w)
	if len(box.Acks) != 1 || box.Acks[0].Request != 2 || box.Acks[0].Line != "RAYOS_HOST_ACK:present:ok:presented" {
		t.Errorf("answers %+v, want exactly one for request 2", box.Acks)
	}
}

// confirm, cancel and pending: ids are checked, the client travels with
// the envelope, and a request waiting for confirmation gets a notice
// before its one ACK.
func TestConfirmationRequestsAndNotices(t *testing.T) {
	var out bytes.Buffer
	w := world.New(world.Config{Hz: 60}, marker.NewBus(&out))
	linux := ecs.NewMap1[components.Guest](w.ECS).NewEntity(&components.Guest{ID: "linux", State: components.GuestHidden})
	box := bridge.Install(w.ECS)
	sched, err := world.NewScheduler(w, input.New(), bridge.NewRequests(), bridge.NewAcks())
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range []string{"pending", "pending now", "confirm abc", "cancel 1 2", "confirm 17", "cancel"} {
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputHost, Device: uint32(i + 1), Client: 4, Text: line})
	}
	sched.Tick(w)
	got := out.String()
	for _, want := range []string{
		`RAYOS_HOST_ACK:pending:err:unexpected "now"`,
		`RAYOS_HOST_ACK:confirm:err:"abc" is not a request id`, `RAYOS_HOST_ACK:cancel:err:"1 2" is not a request id`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("markers lack %q:\n%s", want, got)
		}
	}
	q := ecs.NewFilter1[components.IntentEnvelope](w.ECS).Query()
	var answers []string
	for q.Next() {
		env := q.Get()
		if env.Client != 4 || env.Order != env.Source {
			t.Errorf("envelope %+v lost its client or order", env)
		}
		answers = append(answers, components.IntentActionNames[env.Action]+" "+env.Argument)
	}
	if strings.Join(answers, ",") != "pending ,confirm 17,cancel " {
		t.Errorf("answers %q", answers)
	}

	// A request that waits for confirmation: one notice, then one ACK.
	pc := ecs.NewMap1[components.PendingConfirmation](w.ECS)
	envs := ecs.NewMap1[components.IntentEnvelope](w.ECS)
	e := envs.NewEntity(&components.IntentEnvelope{Action: components.ActionShutdown, Target: world.Ref(linux), Status: components.IntentConfirm,
		Source: 30, Request: 9, Client: 4, Detail: "action=shutdown guest=linux confidence=1.00 source=30 rule=r expires=99"})
	pc.NewEntity(&components.PendingConfirmation{Envelope: world.Ref(e), Rule: "r", Expires: 99})
	box.Acks = box.Acks[:0]
	sched.Tick(w)
	sched.Tick(w)
	if len(box.Acks) != 1 || !box.Acks[0].Notice || box.Acks[0].Request != 9 || box.Acks[0].Client != 4 ||
		box.Acks[0].Line != "RAYOS_AUDIT:policy-confirm:action=shutdown guest=linux confidence=1.00 source=30 rule=r expires=99" {
		t.Errorf("notice: %+v", box.Acks)
	}
	box.Acks = box.Acks[:0]
	env := envs.Get(e)
	env.Status, env.Detail = components.IntentDone, "stopped"
	sched.Tick(w)
	sched.Tick(w)
	if len(box.Acks) != 1 || box.Acks[0].Notice || box.Acks[0].Line != "RAYOS_HOST_ACK:shutdown:ok:stopped" {
		t.Errorf("after confirmation: %+v", box.Acks)
	}
}
