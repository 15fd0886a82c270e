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

func TestKeystrokes(t *testing.T) {
	chords, ok := bridge.Keystrokes("Hi, x!")
	if !ok {
		t.Fatal("plain text refused")
	}
	shift, _ := bridge.KeyCode("leftshift")
	h, _ := bridge.KeyCode("h")
	one, _ := bridge.KeyCode("1")
	if len(chords) != 6 || len(chords[0]) != 2 || chords[0][0] != shift || chords[0][1] != h || chords[5][1] != one {
		t.Errorf("chords %v", chords)
	}
	if _, ok := bridge.Keystrokes("héllo"); ok {
		t.Error("a character with no US key was accepted")
	}
	if c, ok := bridge.KeyCode("KEY_ENTER"); !ok || c != 28 {
		t.Errorf("KEY_ENTER = %d, %v", c, ok)
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
	for i, line := range []string{"status", "present linux", "type linux", "press linux nokey", "mouse linux 1 two", "start mac", "warp linux", "hide linux extra"} {
		w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputHost, Device: uint32(i + 1), Text: line})
	}
	sched.Tick(w)
	got := out.String()
	for _, want := range []string{
		"RAYOS_HOST_EVENT_V0:status:\n", "RAYOS_HOST_ACK:status:ok:linux=hidden\n",
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
