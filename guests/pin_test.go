package guests

import (
	"testing"

	"github.com/rayos/engine/components"
)

// A pin goes to the driver off the caller's goroutine and comes back as a
// self-describing result, whatever the grants (effects checked the policy).
func TestSupervisorPins(t *testing.T) {
	d := newFakeDriver()
	s, err := NewSupervisor(func() (Driver, error) { return d, nil }, []string{"linux"}, noSpec, testKeys)
	if err != nil {
		t.Fatal(err)
	}
	s.Pin("linux", 1, 0)
	s.Pin("linux", -1, 1)
	for _, want := range []string{components.PinText("linux", 1, 0, "ok"), "pin linux -1 1 ok"} {
		if r := result(t, s); r.Text != want || r.Source != 0 {
			t.Errorf("pin result %+v, want %q", r, want)
		}
	}
	if got := d.called(); got != "pin linux 1 0,pin linux -1 1" {
		t.Errorf("driver calls %q", got)
	}
	s.Close()
	s.Pin("linux", 0, 1)
	if r := result(t, s); r.Text != "pin linux 0 1 err: the supervisor is shutting down" {
		t.Errorf("pin after close: %+v", r)
	}
}

func TestLibvirtPinRefusesAnImpossibleCPU(t *testing.T) {
	d := &Libvirt{} // never reaches the connection
	for _, cpu := range []int{-1, MaxPinCPU} {
		if err := d.PinVCPU("linux", 0, cpu); err == nil {
			t.Errorf("cpu %d accepted", cpu)
		}
	}
}
