package input_test

import (
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/input"
	"github.com/rayos/engine/world"
)

func TestInputsLiveForOneTickAndSignalsStop(t *testing.T) {
	w := world.New(world.Config{Hz: 60}, nil)
	sched, err := world.NewScheduler(w, input.New())
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		q := ecs.NewFilter1[components.Input](w.ECS).Query()
		for q.Next() {
			n++
		}
		return n
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputText, Text: "a"})
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputKey, Key: 30})
	sched.Tick(w)
	if n := count(); n != 2 {
		t.Fatalf("%d inputs during their tick, want 2", n)
	}
	sched.Tick(w)
	if n := count(); n != 0 {
		t.Fatalf("%d inputs one tick later, want 0", n)
	}
	if w.Run.StopReason != "" {
		t.Fatalf("stop requested without a signal: %q", w.Run.StopReason)
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputSignal, Text: "SIGTERM"})
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputSignal, Text: "SIGINT"})
	sched.Tick(w)
	if w.Run.StopReason != "signal SIGTERM" {
		t.Errorf("StopReason = %q, want the first signal", w.Run.StopReason)
	}
}
