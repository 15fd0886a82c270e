package guests

import (
	"context"
	"errors"
	"fmt"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rayos/engine/components"
)

// fakeDriver records what the supervisor asks of it. The end-to-end tests
// run the real libvirt driver; this one makes the supervisor's own rules
// (grants, reconnects) fast to check.
type fakeDriver struct {
	mu    sync.Mutex
	calls []string
}

func newFakeDriver() *fakeDriver { return &fakeDriver{} }

func (f *fakeDriver) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	return nil
}

func (f *fakeDriver) called() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, ",")
}

func (f *fakeDriver) Define(spec DomainSpec) error              { return f.record("define " + spec.ID) }
func (f *fakeDriver) Start(id string) error                     { return f.record("start " + id) }
func (f *fakeDriver) Shutdown(id string) error                  { return f.record("shutdown " + id) }
func (f *fakeDriver) Destroy(id string) error                   { return f.record("destroy " + id) }
func (f *fakeDriver) Suspend(id string) error                   { return f.record("suspend " + id) }
func (f *fakeDriver) Resume(id string) error                    { return f.record("resume " + id) }
func (f *fakeDriver) ManagedSave(id string) error               { return f.record("save " + id) }
func (f *fakeDriver) HasManagedSave(id string) (bool, error)    { return false, nil }
func (f *fakeDriver) RemoveManagedSave(id string) error         { return nil }
func (f *fakeDriver) Screenshot(id string) (image.Image, error) { return nil, errors.New("no display") }
func (f *fakeDriver) SendKeys(id string, chords [][]uint32) error {
	return f.record("keys " + id)
}
func (f *fakeDriver) PinVCPU(id string, vcpu, cpu int) error {
	return f.record(fmt.Sprintf("pin %s %d %d", id, vcpu, cpu))
}
func (f *fakeDriver) MovePointer(id string, dx, dy int) error { return f.record("pointer " + id) }
func (f *fakeDriver) Click(id string, button int) error       { return f.record("click " + id) }
func (f *fakeDriver) State(id string) (components.GuestState, error) {
	return components.GuestStopped, nil
}
func (f *fakeDriver) XML(id string) (string, error) { return "", nil }

// Events delivers nothing and, like the real driver's, closes when ctx
// ends.
func (f *fakeDriver) Events(ctx context.Context) (<-chan Event, error) {
	out := make(chan Event)
	go func() {
		<-ctx.Done()
		close(out)
	}()
	return out, nil
}
func (f *fakeDriver) Close() error { return nil }

var testKeys = KeyMap{
	Text:  func(string) ([][]uint32, bool) { return [][]uint32{{30}}, true },
	Chord: func(string) ([]uint32, error) { return []uint32{28}, nil },
}

func noSpec(id string) (DomainSpec, error) { return DomainSpec{ID: id}, nil }

func result(t *testing.T, s *Supervisor) Result {
	t.Helper()
	select {
	case r := <-s.Results():
		return r
	case <-time.After(30 * time.Second): // a hang detector, not a timing check
		t.Fatal("no result")
		return Result{}
	}
}

// Input queued before a hide (or a reload that revoked its kind) never
// reaches the guest: the worker checks the grant in force when it gets to
// the job, not the one in force when it was queued.
func TestSupervisorDeliversOnlyGrantedInput(t *testing.T) {
	d := newFakeDriver()
	s, err := NewSupervisor(func() (Driver, error) { return d, nil }, []string{"linux"}, noSpec, testKeys)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Execute(1, components.ActionType, "linux", "a")
	if r := result(t, s); !strings.Contains(r.Text, "was hidden") {
		t.Errorf("input with no grant: %+v", r)
	}
	s.Grant("linux", 1<<components.ActionType)
	s.Execute(2, components.ActionType, "linux", "a")
	s.Execute(3, components.ActionPress, "linux", "enter")
	if r := result(t, s); r.Text != "ok" {
		t.Errorf("granted type: %+v", r)
	}
	if r := result(t, s); !strings.Contains(r.Text, "press revoked") {
		t.Errorf("press not granted: %+v", r)
	}
	s.Grant("linux", 0)
	s.Execute(4, components.ActionType, "linux", "a")
	if r := result(t, s); r.Text == "ok" {
		t.Errorf("type after the grant was withdrawn: %+v", r)
	}
	s.Execute(5, components.ActionShutdown, "linux", "")
	if r := result(t, s); !strings.Contains(r.Text, "shutdown of guest linux was revoked") {
		t.Errorf("shutdown not granted: %+v", r)
	}
	if got := d.called(); got != "keys linux" {
		t.Errorf("driver calls %q, want exactly one delivery", got)
	}
}

// A hypervisor that is not up yet does not stop the supervisor: work fails
// with a clear error meanwhile, and once it comes up the VMs are
// reconciled.
func TestSupervisorStartsWithoutItsHypervisor(t *testing.T) {
	saved := reconnectBackoff
	reconnectBackoff = []time.Duration{time.Millisecond}
	defer func() { reconnectBackoff = saved }()
	d := newFakeDriver()
	var mu sync.Mutex
	up := false
	connect := func() (Driver, error) {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			return nil, errors.New("dial unix /run/libvirt/libvirt-sock: no such file")
		}
		return d, nil
	}
	s, err := NewSupervisor(connect, []string{"linux"}, noSpec, testKeys)
	if err != nil {
		t.Fatalf("a missing hypervisor failed the supervisor: %v", err)
	}
	defer s.Close()
	if s.Unavailable() == nil {
		t.Error("Unavailable() is nil without a hypervisor")
	}
	if ev := <-s.Events(); ev.ID != "-" || ev.What != EventUnavailable {
		t.Errorf("first event %+v, want unavailable", ev)
	}
	s.Grant("linux", 1<<components.ActionStart)
	s.Execute(1, components.ActionStart, "linux", "")
	if r := result(t, s); !strings.Contains(r.Text, "unavailable") {
		t.Errorf("start without a hypervisor: %+v", r)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	var got []string
	for len(got) == 0 || got[len(got)-1] != "- reconciled" {
		got = append(got, EventText(<-s.Events()))
	}
	if strings.Join(got, ",") != "linux is:stopped,- reconciled" {
		t.Errorf("events after the hypervisor came up: %q", got)
	}
}
