package intent_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/world"
)

func isGuest(word string) bool { return word == "linux" || word == "windows" }

func TestParse(t *testing.T) {
	cases := []struct {
		line    string
		want    intent.Command
		wantErr bool
	}{
		{"present linux", intent.Command{Action: components.ActionPresent, Guest: "linux"}, false},
		{"  HIDE   windows ", intent.Command{Action: components.ActionHide, Guest: "windows"}, false},
		{"present", intent.Command{Action: components.ActionPresent}, false},
		{"type linux hello world", intent.Command{Action: components.ActionType, Guest: "linux", Argument: "hello world"}, false},
		{"type hello", intent.Command{Action: components.ActionType, Argument: "hello"}, false},
		{"press linux enter", intent.Command{Action: components.ActionPress, Guest: "linux", Argument: "enter"}, false},
		{"confirm", intent.Command{Action: components.ActionConfirm}, false},
		{"confirm linux", intent.Command{}, true}, // confirm takes no target
		{"confirm 17", intent.Command{Action: components.ActionConfirm, Argument: "17"}, false},
		{"cancel 17 18", intent.Command{}, true},
		{"cancel -1", intent.Command{}, true},
		{"", intent.Command{}, true},
		{"dance linux", intent.Command{}, true},
		{"type linux", intent.Command{}, true},
		{"present mac", intent.Command{}, true},
	}
	for _, c := range cases {
		got, err := intent.Parse(c.line, isGuest)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, err=%v", c.line, got, err, c.want, c.wantErr)
		}
	}
}

func TestCommandsBecomePendingEnvelopes(t *testing.T) {
	w := world.New(world.Config{Hz: 60}, nil)
	guests := ecs.NewMap1[components.Guest](w.ECS)
	linux := guests.NewEntity(&components.Guest{ID: "linux", Number: 1})
	win := guests.NewEntity(&components.Guest{ID: "windows", Number: 2})
	sched, err := world.NewScheduler(w, input.New(), intent.New())
	if err != nil {
		t.Fatal(err)
	}
	feed := func(kind components.InputKind, text string) {
		w.Inbox.Feed(w.Clock, components.Input{Kind: kind, Text: text})
	}
	feed(components.InputText, "present linux")
	feed(components.InputText, "no such command")
	feed(components.InputVoice, "present") // nothing focused: dropped
	sched.Tick(w)
	*w.Focus = components.Focus{Owner: 2, Weight: 0.75}
	feed(components.InputVoice, "type hello there")
	sched.Tick(w)

	var got []components.IntentEnvelope
	q := ecs.NewFilter1[components.IntentEnvelope](w.ECS).Query()
	for q.Next() {
		got = append(got, *q.Get())
	}
	if len(got) != 2 {
		t.Fatalf("envelopes %+v, want 2", got)
	}
	want0 := components.IntentEnvelope{Action: components.ActionPresent, Target: world.Ref(linux), Confidence: 1, Status: components.IntentPending, Source: 1, Order: 1, Tick: 1}
	want1 := components.IntentEnvelope{Action: components.ActionType, Target: world.Ref(win), Confidence: 0.75, Status: components.IntentPending, Source: 4, Order: 4, Argument: "hello there", Tick: 2}
	if got[0] != want0 || got[1] != want1 {
		t.Errorf("got\n %+v\n %+v\nwant\n %+v\n %+v", got[0], got[1], want0, want1)
	}
}
