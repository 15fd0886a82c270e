package guests

import (
	"context"
	"image"

	"github.com/rayos/engine/components"
)

// Driver is what the supervisor needs from a hypervisor. The real one
// speaks to libvirtd (NewLibvirt); tests may use fakes as well, never only.
type Driver interface {
	// Define creates or updates the VM's definition from its spec.
	Define(spec DomainSpec) error
	// Start boots a defined VM (restoring its managed-save image if any).
	Start(id string) error
	// Shutdown asks the guest OS to power off; Destroy pulls the plug.
	Shutdown(id string) error
	Destroy(id string) error
	// Suspend pauses the vCPUs; Resume continues them.
	Suspend(id string) error
	Resume(id string) error
	// ManagedSave saves RAM and device state to disk and stops the VM; the
	// next Start restores it.
	ManagedSave(id string) error
	// HasManagedSave reports a saved image the next Start would restore;
	// RemoveManagedSave discards it (the next Start boots cold).
	HasManagedSave(id string) (bool, error)
	RemoveManagedSave(id string) error
	// Screenshot returns the guest's display as an image.
	Screenshot(id string) (image.Image, error)
	// SendKeys presses each chord (Linux key codes held together) in turn.
	SendKeys(id string, chords [][]uint32) error
	// MovePointer moves the pointer by dx, dy; Click presses and releases
	// a button (1 left, 2 right, 4 middle).
	MovePointer(id string, dx, dy int) error
	Click(id string, button int) error
	// PinVCPU pins a running VM's vCPU to one host CPU, live; vcpu -1
	// pins its emulator thread instead.
	PinVCPU(id string, vcpu, cpu int) error
	// State is the VM's lifecycle state as the hypervisor sees it.
	State(id string) (components.GuestState, error)
	// XML is the VM's current definition.
	XML(id string) (string, error)
	// Events delivers lifecycle events until ctx ends or the connection
	// drops (the channel closes).
	Events(ctx context.Context) (<-chan Event, error)
	// Close disconnects.
	Close() error
}

// Event is a lifecycle event of one VM.
type Event struct {
	// ID is the VM's registry id ("" for domains RayOS does not manage).
	ID string
	// State is the state the event leaves the VM in.
	State components.GuestState
	// What names the event: defined, started, suspended, resumed, stopped,
	// shutdown, crashed, undefined, saved.
	What string
}
