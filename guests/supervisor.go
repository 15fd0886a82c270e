package guests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world/atomicfile"
)

// Result is the outcome of one supervisor job, for the world: the Source of
// the intent it carried out and "ok" or "err: <why>".
type Result struct {
	Source uint64
	Text   string
}

// Supervisor runs hypervisor work off the tick. The effects system hands it
// allowed intents (Execute); one worker carries them out in order through
// the Driver and reports each result on Results. Lifecycle events of the
// hypervisor arrive on Events. Nothing here decides anything: every job
// has already passed the policy gate.
type Supervisor struct {
	connect   func() (Driver, error)
	vms       []string
	mu2       sync.Mutex // guards driver and up
	up        bool
	capturing bool
	frames    chan Frame
	driver    Driver
	spec      func(id string) (DomainSpec, error)
	keys      KeyMap
	jobs      chan job
	results   chan Result
	events    chan Event
	cancel    context.CancelFunc
	done      chan struct{}
	wg        sync.WaitGroup
	mu        sync.Mutex
	closed    bool
	inFlight  int
	// grants is what each VM may receive now (effects.Executor.Grant):
	// checked by the worker right before it delivers an injection.
	grantsMu sync.Mutex
	grants   map[string]components.ActionSet
	// unavailable is why the first connection failed, if it did.
	unavailable error
	// pointerAt is where the worker last put each VM's pointer by an
	// absolute move (only the worker goroutine touches it); a VM not in it
	// has its pointer somewhere unknown.
	pointerAt map[string][2]int
}

type job struct {
	source uint64
	action components.IntentAction
	vm     string
	arg    string
	spec   DomainSpec
	err    error
	// pin, when set, makes the job a pinning of vcpu (or the emulator
	// thread, -1) to host CPU cpu rather than an action.
	pin       bool
	vcpu, cpu int
}

// KeyMap turns what a user types into Linux key codes.
type KeyMap struct {
	// Text gives one chord per character of text.
	Text func(text string) ([][]uint32, bool)
	// Chord gives the codes of keys pressed together ("enter",
	// "ctrl+alt+delete").
	Chord func(keys string) ([]uint32, error)
}

// NewSupervisor starts the worker and connects. connect opens a Driver (it
// is called again to reconnect after the hypervisor went away); vms are the
// registry ids to reconcile after a reconnect; spec gives the domain
// definition of a VM (registry + policy) when it is started. A hypervisor
// that is not up yet does not stop RayOS: the supervisor reports it
// unavailable, fails work meanwhile with an err result, and keeps trying
// with backoff, as after a loss mid-run.
func NewSupervisor(connect func() (Driver, error), vms []string, spec func(id string) (DomainSpec, error), keys KeyMap) (*Supervisor, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{connect: connect, vms: vms, spec: spec, keys: keys, jobs: make(chan job, 1024),
		results: make(chan Result, 1024), events: make(chan Event, 256), cancel: cancel, done: make(chan struct{}),
		frames: make(chan Frame, 4)}
	var events <-chan Event
	d, err := connect()
	if err == nil {
		if events, err = d.Events(ctx); err != nil {
			d.Close()
		}
	}
	if err == nil {
		s.driver, s.up = d, true
	} else {
		s.unavailable = err
	}
	s.wg.Add(2)
	go s.work()
	go s.watch(ctx, events)
	return s, nil
}

// Hypervisor connection events, sent with ID "-".
const (
	EventUnavailable = "unavailable"
	EventLost        = "lost"
	EventReconciled  = "reconciled"
)

// Unavailable is why the hypervisor could not be reached when the
// supervisor started, nil if it could.
func (s *Supervisor) Unavailable() error { return s.unavailable }

// reconnectBackoff bounds the wait between reconnection attempts.
var reconnectBackoff = []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}

// watch forwards lifecycle events; when there is no connection (the
// hypervisor was not up at start, or its event stream ended because it
// went away) it says so, reconnects with backoff, re-lists every VM's
// state for the world to reconcile, and goes on. s.events is never
// closed: watchers may still report until Close.
func (s *Supervisor) watch(ctx context.Context, events <-chan Event) {
	defer s.wg.Done()
	if events == nil && !s.emit(Event{ID: "-", What: EventUnavailable}) {
		return
	}
	for {
		if events != nil {
			for ev := range events {
				if !s.emit(ev) {
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			s.mu2.Lock()
			s.up = false
			old := s.driver
			s.mu2.Unlock()
			old.Close()
			if !s.emit(Event{ID: "-", What: EventLost}) {
				return
			}
		}
		if events = s.reconnect(ctx); events == nil {
			return
		}
		for _, id := range s.vms {
			state, err := s.current().State(id)
			if err != nil {
				state = components.GuestDefined // not defined in this hypervisor (any more)
			}
			if !s.emit(Event{ID: id, What: "is:" + components.GuestStateNames[state], State: state}) {
				return
			}
		}
		if !s.emit(Event{ID: "-", What: EventReconciled}) {
			return
		}
	}
}

// reconnect tries to connect with backoff until it succeeds (and returns
// the new event stream) or the supervisor closes (nil).
func (s *Supervisor) reconnect(ctx context.Context) <-chan Event {
	for attempt := 0; ; attempt++ {
		select {
		case <-s.done:
			return nil
		case <-time.After(reconnectBackoff[min(attempt, len(reconnectBackoff)-1)]):
		}
		d, err := s.connect()
		if err != nil {
			continue
		}
		ev, err := d.Events(ctx)
		if err != nil {
			d.Close()
			continue
		}
		s.mu2.Lock()
		s.driver, s.up = d, true
		s.mu2.Unlock()
		return ev
	}
}

func (s *Supervisor) emit(ev Event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.done:
		return false
	}
}

// current returns the driver in use and whether it is connected.
func (s *Supervisor) current() Driver {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	return s.driver
}

func (s *Supervisor) connected() bool {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	return s.up
}

// Execute implements effects.Executor: it queues the job and returns. It
// runs on the tick, so the domain definition of a start is taken here,
// from the registry and the policy in force at this very tick.
func (s *Supervisor) Execute(source uint64, action components.IntentAction, vm, argument string) {
	j := job{source: source, action: action, vm: vm, arg: argument}
	if action == components.ActionStart {
		j.spec, j.err = s.spec(vm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.results <- Result{source, "err: the supervisor is shutting down"}
		return
	}
	select {
	case s.jobs <- j:
	default:
		s.results <- Result{source, "err: too many hypervisor jobs waiting"}
	}
}

// Pin implements effects.Pinner: pin vm's vcpu (-1: its emulator thread)
// to host CPU cpu off the tick, in order with the other jobs. The result
// comes back as a Result with Source 0 and components.PinText's text.
func (s *Supervisor) Pin(vm string, vcpu, cpu int) {
	j := job{vm: vm, pin: true, vcpu: vcpu, cpu: cpu}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.results <- Result{0, components.PinText(vm, vcpu, cpu, "err: the supervisor is shutting down")}
		return
	}
	select {
	case s.jobs <- j:
	default:
		s.results <- Result{0, components.PinText(vm, vcpu, cpu, "err: too many hypervisor jobs waiting")}
	}
}

// Grant implements effects.Executor: from now on only actions may be done
// to vm. Jobs queued earlier are checked against it when the worker
// reaches them, so nothing typed before a hide, and nothing a reload
// revoked, is carried out after it.
func (s *Supervisor) Grant(vm string, actions components.ActionSet) {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	if s.grants == nil {
		s.grants = map[string]components.ActionSet{}
	}
	s.grants[vm] = actions
}

// granted reports whether action may be done to vm now.
func (s *Supervisor) granted(vm string, action components.IntentAction) bool {
	s.grantsMu.Lock()
	defer s.grantsMu.Unlock()
	return s.grants[vm]&(1<<action) != 0
}

// Results delivers job outcomes; Events the hypervisor's lifecycle events.
func (s *Supervisor) Results() <-chan Result { return s.results }
func (s *Supervisor) Events() <-chan Event   { return s.events }

func (s *Supervisor) work() {
	defer s.wg.Done()
	for j := range s.jobs {
		text := "ok"
		if !s.connected() {
			text = "err: the hypervisor is unavailable (reconnecting)"
		} else if j.pin {
			if err := s.current().PinVCPU(j.vm, j.vcpu, j.cpu); err != nil {
				text = "err: " + err.Error()
			}
		} else if err := s.run(j); err != nil {
			text = "err: " + err.Error()
		}
		if j.pin {
			text = components.PinText(j.vm, j.vcpu, j.cpu, text)
		}
		s.results <- Result{j.source, text}
	}
}

func (s *Supervisor) run(j job) error {
	d := s.current()
	if !s.granted(j.vm, j.action) {
		name := components.IntentActionNames[j.action]
		if components.InputActions&(1<<j.action) != 0 {
			return fmt.Errorf("guest %s was hidden, or %s revoked by the policy, before the input was delivered", j.vm, name)
		}
		return fmt.Errorf("%s of guest %s was revoked by the policy before it was carried out", name, j.vm)
	}
	switch j.action {
	case components.ActionStart:
		delete(s.pointerAt, j.vm) // a new boot puts the pointer where it likes
		if j.err != nil {
			return j.err
		}
		restore, err := s.checkSavedState(d, j.spec)
		if err != nil {
			return err
		}
		if err := d.Define(j.spec); err != nil {
			return err
		}
		serial := filepath.Join(j.spec.Dir, "serial.log")
		var from int64
		if info, err := os.Stat(serial); err == nil {
			from = info.Size() // the log appends across boots: only new lines count
		}
		if err := d.Start(j.vm); err != nil {
			return err
		}
		if restore != "" {
			s.emit(Event{ID: j.vm, What: "restore:" + restore})
		}
		if restore == "ok" && j.spec.VM.Ready != "" {
			s.emit(Event{ID: j.vm, What: "ready"}) // it was ready when saved
		}
		if j.spec.VM.Ready != "" && restore != "ok" {
			s.wg.Add(1)
			go s.watchReady(j.vm, serial, from, j.spec.VM.Ready)
		}
		return nil
	case components.ActionShutdown:
		return d.Shutdown(j.vm)
	case components.ActionSuspend:
		return d.Suspend(j.vm)
	case components.ActionResume:
		return d.Resume(j.vm)
	case components.ActionType:
		chords, ok := s.keys.Text(j.arg)
		if !ok {
			return fmt.Errorf("cannot type %q on a US keyboard", j.arg)
		}
		return d.SendKeys(j.vm, chords)
	case components.ActionPress:
		chord, err := s.keys.Chord(j.arg)
		if err != nil {
			return err
		}
		return d.SendKeys(j.vm, [][]uint32{chord})
	case components.ActionMouse:
		if to, ok := strings.CutPrefix(j.arg, "to "); ok {
			return s.moveTo(d, j.vm, to)
		}
		var dx, dy int
		if _, err := fmt.Sscanf(j.arg, "%d %d", &dx, &dy); err != nil {
			return fmt.Errorf("mouse %q: want X Y", j.arg)
		}
		delete(s.pointerAt, j.vm) // moved by a relative amount: where it lands is the guest's business
		return d.MovePointer(j.vm, dx, dy)
	case components.ActionClick:
		// "left", or "left to X Y" (the input broker's: the click's own
		// position in the guest's display).
		name, to, moves := strings.Cut(j.arg, " to ")
		button := map[string]int{"": 1, "left": 1, "right": 2, "middle": 4}[name]
		if button == 0 {
			return fmt.Errorf("unknown button %q", name)
		}
		if moves {
			if err := s.moveTo(d, j.vm, to); err != nil {
				return err
			}
		}
		return d.Click(j.vm, button)
	}
	return fmt.Errorf("no hypervisor work for %s", components.IntentActionNames[j.action])
}

// homeDistance is a relative move long enough to push any pointer into
// the display's top-left corner, where it stops.
const homeDistance = 1 << 14

// moveTo puts vm's pointer at "X Y" of its display (the input broker's
// absolute moves). The driver moves the pointer by relative amounts, so
// the worker remembers where it left it; the first absolute move (and the
// first after a relative one or a start) pushes it into the top-left
// corner first. A guest that accelerates relative motion lands near, not
// exactly on, the position.
func (s *Supervisor) moveTo(d Driver, vm, to string) error {
	var x, y int
	if _, err := fmt.Sscanf(to, "%d %d", &x, &y); err != nil || x < 0 || y < 0 || x > 1<<15 || y > 1<<15 {
		return fmt.Errorf("pointer position %q: want X Y within the display", to)
	}
	if s.pointerAt == nil {
		s.pointerAt = map[string][2]int{}
	}
	at, known := s.pointerAt[vm]
	if !known {
		if err := d.MovePointer(vm, -homeDistance, -homeDistance); err != nil {
			return err
		}
	}
	if dx, dy := x-at[0], y-at[1]; dx != 0 || dy != 0 {
		if err := d.MovePointer(vm, dx, dy); err != nil {
			delete(s.pointerAt, vm)
			return err
		}
	}
	s.pointerAt[vm] = [2]int{x, y}
	return nil
}

// savedDefinition is the file, in the VM's folder, holding the hash of the
// definition its managed-save image was taken under.
const savedDefinition = "saved-definition.sha256"

func definitionHash(spec DomainSpec) (string, error) {
	x, err := DomainXML(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(x))
	return hex.EncodeToString(sum[:]), nil
}

// checkSavedState decides what happens to a managed-save image before a
// start: restored ("ok") when it was taken under exactly the definition the
// VM is about to get, discarded ("discarded …") otherwise — RAM state saved
// under other devices or caps must not be loaded into a changed machine.
// "" means there is no image.
func (s *Supervisor) checkSavedState(d Driver, spec DomainSpec) (string, error) {
	has, err := d.HasManagedSave(spec.ID)
	if err != nil || !has {
		return "", nil // not defined yet, or nothing saved
	}
	want, err := definitionHash(spec)
	if err != nil {
		return "", err
	}
	got, _ := os.ReadFile(filepath.Join(spec.Dir, savedDefinition))
	if strings.TrimSpace(string(got)) == want {
		return "ok", nil
	}
	if err := d.RemoveManagedSave(spec.ID); err != nil {
		return "", err
	}
	return "discarded (the definition changed since the save)", nil
}

// SaveAll takes a managed-save image of every running VM among ids, so
// their RAM state survives a RayOS restart, and records the definition each
// was saved under. It runs at shutdown, after the world stopped, and
// reports per VM "saved" or the error.
func (s *Supervisor) SaveAll(specs []DomainSpec) map[string]string {
	out := map[string]string{}
	if !s.connected() {
		return out
	}
	d := s.current()
	for _, spec := range specs {
		state, err := d.State(spec.ID)
		if err != nil || (state != components.GuestHidden && state != components.GuestSuspended) {
			continue
		}
		hash, err := definitionHash(spec)
		if err == nil {
			err = atomicfile.WriteBytes(filepath.Join(spec.Dir, savedDefinition), []byte(hash+"\n"), 0o640)
		}
		if err == nil {
			err = d.ManagedSave(spec.ID)
		}
		if err != nil {
			out[spec.ID] = "err: " + err.Error()
			continue
		}
		out[spec.ID] = "saved"
	}
	return out
}

// Frame is a guest display capture for its surface.
type Frame struct {
	ID     string
	Width  int
	Height int
	Texels []uint32
}

// Capture takes a screenshot of each VM in ids off the tick and delivers
// the frames on Frames; a capture still running is not started again, so
// the rate is bounded by how often the caller asks and how fast the
// hypervisor answers.
func (s *Supervisor) Capture(ids []string, maxW, maxH int) {
	s.mu2.Lock()
	if s.capturing || !s.up {
		s.mu2.Unlock()
		return
	}
	s.capturing = true
	d := s.driver
	s.mu2.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { s.mu2.Lock(); s.capturing = false; s.mu2.Unlock() }()
		for _, id := range ids {
			img, err := d.Screenshot(id)
			if err != nil {
				continue // no display (yet), or a driver without screenshots
			}
			w, h, texels := Texels(img, maxW, maxH)
			select {
			case s.frames <- Frame{ID: id, Width: w, Height: h, Texels: texels}:
			case <-s.done:
				return
			default: // the runtime is behind: drop this frame, a newer comes
			}
		}
	}()
}

// Frames delivers display captures.
func (s *Supervisor) Frames() <-chan Frame { return s.frames }

// readyTimeout bounds the wait for a guest's readiness line.
const readyTimeout = 5 * time.Minute

// watchReady polls a guest's serial log for its readiness line and reports
// a "ready" event when it appears.
func (s *Supervisor) watchReady(id, serial string, from int64, line string) {
	defer s.wg.Done()
	deadline := time.Now().Add(readyTimeout)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		data, err := os.ReadFile(serial)
		if err != nil || int64(len(data)) < from {
			from = 0 // a restore empties the log
			continue
		}
		if strings.Contains(string(data[from:]), line) {
			select {
			case s.events <- Event{ID: id, What: "ready"}:
			case <-s.done:
			}
			return
		}
	}
}

// Close stops the worker after the queued jobs and disconnects.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.jobs)
	}
	s.mu.Unlock()
	s.cancel()
	close(s.done)
	var err error
	if d := s.current(); d != nil {
		err = d.Close()
	}
	s.wg.Wait()
	return err
}

// EventText is how a lifecycle event travels into the world as a
// guest-event input: "<vm-id> <what>".
func EventText(ev Event) string { return ev.ID + " " + ev.What }
