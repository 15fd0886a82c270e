package guests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"github.com/rayos/engine/components"
)

// Libvirt is the Driver over a real libvirtd, reached through its unix
// socket with github.com/digitalocean/go-libvirt.
type Libvirt struct {
	l   *libvirt.Libvirt
	uri string
}

// NewLibvirt connects to the libvirtd listening on socket and opens uri
// ("test:///default" in CI, "qemu:///system" on a real host).
func NewLibvirt(socket, uri string) (*Libvirt, error) {
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(socket), dialers.WithLocalTimeout(5*time.Second)))
	if err := l.ConnectToURI(libvirt.ConnectURI(uri)); err != nil {
		return nil, fmt.Errorf("libvirt %s via %s: %w", uri, socket, err)
	}
	return &Libvirt{l: l, uri: uri}, nil
}

func (d *Libvirt) domain(id string) (libvirt.Domain, error) {
	dom, err := d.l.DomainLookupByName(Name(id))
	if err != nil {
		return dom, fmt.Errorf("vm %s: %w", id, err)
	}
	return dom, nil
}

// Define implements Driver.
func (d *Libvirt) Define(spec DomainSpec) error {
	if spec.Type == "" && strings.HasPrefix(d.uri, "test:") {
		spec.Type = "test"
	}
	if spec.Type != "test" { // the test driver boots nothing
		if err := spec.BootMedia(); err != nil {
			return err
		}
	}
	x, err := DomainXML(spec)
	if err != nil {
		return err
	}
	if _, err := d.l.DomainDefineXML(x); err != nil {
		return fmt.Errorf("vm %s: define: %w", spec.ID, err)
	}
	return nil
}

func (d *Libvirt) do(id, what string, op func(libvirt.Domain) error) error {
	dom, err := d.domain(id)
	if err != nil {
		return err
	}
	if err := op(dom); err != nil {
		return fmt.Errorf("vm %s: %s: %w", id, what, err)
	}
	return nil
}

// Start implements Driver.
func (d *Libvirt) Start(id string) error { return d.do(id, "start", d.l.DomainCreate) }

// Shutdown implements Driver.
func (d *Libvirt) Shutdown(id string) error { return d.do(id, "shutdown", d.l.DomainShutdown) }

// Destroy implements Driver.
func (d *Libvirt) Destroy(id string) error { return d.do(id, "destroy", d.l.DomainDestroy) }

// PinVCPU implements Driver: virDomainPinVcpuFlags (or
// virDomainPinEmulator for vcpu -1) with VIR_DOMAIN_AFFECT_LIVE and a CPU
// map holding cpu alone. A CPU the host lacks is libvirt's to refuse.
func (d *Libvirt) PinVCPU(id string, vcpu, cpu int) error {
	if cpu < 0 || cpu >= MaxPinCPU {
		return fmt.Errorf("vm %s: pin: cpu %d is out of range [0, %d]", id, cpu, MaxPinCPU-1)
	}
	cpumap := make([]byte, cpu/8+1)
	cpumap[cpu/8] = 1 << (cpu % 8)
	if vcpu < 0 {
		return d.do(id, "pin emulator", func(dom libvirt.Domain) error {
			return d.l.DomainPinEmulator(dom, cpumap, libvirt.DomainAffectLive)
		})
	}
	return d.do(id, fmt.Sprintf("pin vcpu %d", vcpu), func(dom libvirt.Domain) error {
		return d.l.DomainPinVcpuFlags(dom, uint32(vcpu), cpumap, uint32(libvirt.DomainAffectLive))
	})
}

// VCPUPins reports, for each of a running VM's vCPUs in order, the host
// CPUs it may run on as libvirt holds them live (virDomainGetVcpuPinInfo):
// what `virsh vcpupin` prints.
func (d *Libvirt) VCPUPins(id string, vcpus, hostCPUs int) ([][]int, error) {
	maplen := (hostCPUs + 7) / 8
	var out [][]int
	err := d.do(id, "vcpu pin info", func(dom libvirt.Domain) error {
		maps, n, err := d.l.DomainGetVcpuPinInfo(dom, int32(vcpus), int32(maplen), uint32(libvirt.DomainAffectLive))
		if err != nil {
			return err
		}
		for v := 0; v < int(n) && (v+1)*maplen <= len(maps); v++ {
			var cpus []int
			for c := range hostCPUs {
				if maps[v*maplen+c/8]&(1<<(c%8)) != 0 {
					cpus = append(cpus, c)
				}
			}
			out = append(out, cpus)
		}
		return nil
	})
	return out, err
}

// MaxPinCPU bounds the host CPU a pin may name (the CPU map's size).
const MaxPinCPU = 4096

// Suspend implements Driver.
func (d *Libvirt) Suspend(id string) error { return d.do(id, "suspend", d.l.DomainSuspend) }

// Resume implements Driver.
func (d *Libvirt) Resume(id string) error { return d.do(id, "resume", d.l.DomainResume) }

// ManagedSave implements Driver.
func (d *Libvirt) ManagedSave(id string) error {
	return d.do(id, "managed save", func(dom libvirt.Domain) error { return d.l.DomainManagedSave(dom, 0) })
}

// HasManagedSave implements Driver.
func (d *Libvirt) HasManagedSave(id string) (bool, error) {
	var has bool
	err := d.do(id, "managed save image", func(dom libvirt.Domain) error {
		n, err := d.l.DomainHasManagedSaveImage(dom, 0)
		has = n == 1
		return err
	})
	return has, err
}

// RemoveManagedSave implements Driver.
func (d *Libvirt) RemoveManagedSave(id string) error {
	return d.do(id, "remove managed save", func(dom libvirt.Domain) error { return d.l.DomainManagedSaveRemove(dom, 0) })
}

// Screenshot implements Driver: QEMU hands over the display as PPM (or
// PNG). virDomainScreenshot's stream does not decode with this go-libvirt
// version (measured: "xdr:DecodeUint: EOF"), so on a QEMU domain the
// display is dumped through the monitor's screendump into a private
// temporary file instead; other drivers get the stream call.
func (d *Libvirt) Screenshot(id string) (image.Image, error) {
	data, err := d.screenData(id)
	if err != nil {
		return nil, err
	}
	img, err := DecodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("vm %s: screenshot: %w", id, err)
	}
	return img, nil
}

// screenData fetches the raw display image: the monitor's screendump into
// a private temporary file on QEMU, the screenshot stream elsewhere.
func (d *Libvirt) screenData(id string) ([]byte, error) {
	if strings.HasPrefix(d.uri, "qemu") {
		dir, err := os.MkdirTemp("", "rayos-screendump-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		// QEMU may run as another user: let it write the one file.
		if err := os.Chmod(dir, 0o733); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "screen.ppm")
		if err := d.hmp(id, "screenshot", "screendump "+path); err != nil {
			return nil, err
		}
		return os.ReadFile(path)
	}
	var buf bytes.Buffer
	err := d.do(id, "screenshot", func(dom libvirt.Domain) error {
		_, err := d.l.DomainScreenshot(dom, &buf, 0, 0)
		return err
	})
	return buf.Bytes(), err
}

// hmp runs a human monitor command on a QEMU domain.
func (d *Libvirt) hmp(id, what, cmd string) error {
	if !strings.HasPrefix(d.uri, "qemu") {
		return fmt.Errorf("vm %s: %s needs the QEMU driver (not %s)", id, what, d.uri)
	}
	return d.do(id, what, func(dom libvirt.Domain) error {
		const hmp = 1 // VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP
		out, err := d.l.QEMUDomainMonitorCommand(dom, cmd, hmp)
		if err == nil && strings.TrimSpace(out) != "" {
			err = errors.New(strings.TrimSpace(out))
		}
		return err
	})
}

// MovePointer implements Driver through QEMU's input events (HMP mouse_move).
func (d *Libvirt) MovePointer(id string, dx, dy int) error {
	return d.hmp(id, "mouse", fmt.Sprintf("mouse_move %d %d", dx, dy))
}

// Click implements Driver (HMP mouse_button: press, then release).
func (d *Libvirt) Click(id string, button int) error {
	if err := d.hmp(id, "click", fmt.Sprintf("mouse_button %d", button)); err != nil {
		return err
	}
	return d.hmp(id, "click", "mouse_button 0")
}

// SendKeys implements Driver: one virDomainSendKey per chord, in the
// Linux key code set, held 10 ms.
func (d *Libvirt) SendKeys(id string, chords [][]uint32) error {
	return d.do(id, "send keys", func(dom libvirt.Domain) error {
		for _, chord := range chords {
			if err := d.l.DomainSendKey(dom, uint32(libvirt.KeycodeSetLinux), 10, chord, 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// State implements Driver.
func (d *Libvirt) State(id string) (components.GuestState, error) {
	dom, err := d.domain(id)
	if err != nil {
		return components.GuestDefined, err
	}
	state, _, err := d.l.DomainGetState(dom, 0)
	if err != nil {
		return components.GuestDefined, fmt.Errorf("vm %s: state: %w", id, err)
	}
	return guestState(libvirt.DomainState(state)), nil
}

// guestState maps libvirt's domain states onto RayOS's. A running guest is
// "hidden" until RayOS presents it: presentation is RayOS's, not libvirt's.
func guestState(s libvirt.DomainState) components.GuestState {
	switch s {
	case libvirt.DomainRunning, libvirt.DomainBlocked:
		return components.GuestHidden
	case libvirt.DomainPaused, libvirt.DomainPmsuspended:
		return components.GuestSuspended
	case libvirt.DomainShutdown, libvirt.DomainShutoff:
		return components.GuestStopped
	case libvirt.DomainCrashed:
		return components.GuestCrashed
	}
	return components.GuestDefined
}

// XML implements Driver.
func (d *Libvirt) XML(id string) (string, error) {
	dom, err := d.domain(id)
	if err != nil {
		return "", err
	}
	return d.l.DomainGetXMLDesc(dom, 0)
}

// Events implements Driver.
func (d *Libvirt) Events(ctx context.Context) (<-chan Event, error) {
	raw, err := d.l.LifecycleEvents(ctx)
	if err != nil {
		return nil, fmt.Errorf("libvirt lifecycle events: %w", err)
	}
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		for msg := range raw {
			id, ok := strings.CutPrefix(msg.Dom.Name, "rayos-")
			if !ok {
				continue // not a RayOS domain
			}
			ev := lifecycleEvent(libvirt.DomainEventType(msg.Event))
			ev.ID = id
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func lifecycleEvent(t libvirt.DomainEventType) Event {
	switch t {
	case libvirt.DomainEventDefined:
		return Event{What: "defined", State: components.GuestDefined}
	case libvirt.DomainEventUndefined:
		return Event{What: "undefined", State: components.GuestDefined}
	case libvirt.DomainEventStarted:
		return Event{What: "started", State: components.GuestHidden}
	case libvirt.DomainEventSuspended, libvirt.DomainEventPmsuspended:
		return Event{What: "suspended", State: components.GuestSuspended}
	case libvirt.DomainEventResumed:
		return Event{What: "resumed", State: components.GuestHidden}
	case libvirt.DomainEventStopped:
		return Event{What: "stopped", State: components.GuestStopped}
	case libvirt.DomainEventShutdown:
		return Event{What: "shutdown", State: components.GuestStopped}
	case libvirt.DomainEventCrashed:
		return Event{What: "crashed", State: components.GuestCrashed}
	}
	return Event{What: fmt.Sprintf("event-%d", t), State: components.GuestDefined}
}

// Close implements Driver.
func (d *Libvirt) Close() error {
	err := d.l.Disconnect()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Disconnected is closed when the connection to libvirtd is lost.
func (d *Libvirt) Disconnected() <-chan struct{} { return d.l.Disconnected() }
