package guests_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/guests/daemon"
)

// The real driver against a real libvirtd (test driver): definition from
// registry and policy, the lifecycle, states and events.
func TestLibvirtDriverLifecycle(t *testing.T) {
	d := daemon.Private(t)
	drv, err := guests.NewLibvirt(d.Socket, "test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := drv.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := guests.DomainSpec{ID: "linux", Dir: t.TempDir(),
		VM:     guests.VM{OS: "linux", MemoryMiB: 1024, VCPUs: 4},
		Limits: guests.Limits{Network: false, CPUs: 2, MemoryMiB: 512, Devices: []string{"input"}}}
	if err := drv.Define(spec); err != nil {
		t.Fatal(err)
	}
	if err := drv.Define(spec); err != nil { // re-defining the same VM is an update
		t.Fatalf("re-define: %v", err)
	}
	x, err := drv.XML("linux")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(x, "<interface") {
		t.Errorf("network = false, yet the domain has an interface:\n%s", x)
	}
	if !strings.Contains(x, "<vcpu placement='static'>2</vcpu>") || !strings.Contains(x, "<memory unit='KiB'>524288</memory>") {
		t.Errorf("caps not applied:\n%s", x)
	}
	steps := []struct {
		op    func(string) error
		state components.GuestState
		event string
	}{
		{drv.Start, components.GuestHidden, "started"},
		{drv.Suspend, components.GuestSuspended, "suspended"},
		{drv.Resume, components.GuestHidden, "resumed"},
		{drv.Destroy, components.GuestStopped, "stopped"},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.op("linux"); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Logf("%s took %v", s.event, took)
		}
		if st, err := drv.State("linux"); err != nil || st != s.state {
			t.Errorf("after %s: state %v, %v; want %v", s.event, st, err, s.state)
		}
		if ev := nextEvent(t, events, s.event); ev.ID != "linux" || ev.State != s.state {
			t.Errorf("event %+v, want %s of linux in state %v", ev, s.event, s.state)
		}
	}
	if err := drv.Start("nope"); err == nil || !strings.Contains(err.Error(), "vm nope") {
		t.Errorf("starting an unknown VM: %v", err)
	}
}

func nextEvent(t *testing.T, events <-chan guests.Event, what string) guests.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event stream closed waiting for %s", what)
			}
			if ev.What == what {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 5 s", what)
		}
	}
}
