package boot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/effects"
	"github.com/rayos/engine/systems/intent/model"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/keys"
	"github.com/rayos/engine/world/marker"
	"github.com/rayos/engine/world/scene"
)

// Version is the engine's version, printed by `rayos version` and in the
// start marker.
const Version = "0.1.0-dev"

// Options configure one run of the runtime.
type Options struct {
	// DataDir is RAYOS_DATA when no BootInfo names one.
	DataDir string
	// BootInfoPath is a BootInfo file (--bootinfo); Cmdline is the kernel
	// command line to look for rayos.bootinfo= and rayos.entry= in.
	BootInfoPath, Cmdline string
	// Entry is the requested boot entry; empty lets the runtime choose.
	Entry string
	// Seed, Scene and Hz define the world.
	Seed  uint64
	Scene string
	Hz    float64
	// Ticks stops the run after that many ticks; 0 runs until a signal.
	Ticks uint64
	// Paced ticks at Hz against the wall clock; unpaced runs as fast as it
	// can (replay, tests).
	Paced bool
	// Journal, when set, supplies inputs to feed before their ticks.
	Journal *world.Journal
	// Replay rebuilds the world from Journal's header instead of booting:
	// no BootInfo, no RAYOS_DATA, the recorded entry and policy.
	Replay bool
	// RecordPath, when set, receives a journal of every input fed.
	RecordPath string
	// SnapshotPath, when set, receives the final world snapshot (JSON).
	SnapshotPath string
	// Attention is the text of an attention weights file (rayos train
	// attention) to resolve targets with; empty uses the embedded
	// default. A replay takes the journal's.
	Attention string
	// FramePath, when set, receives the last composed frame (PNG).
	FramePath string
	// GPU selects the compute backend: auto, vulkan or cpu.
	GPU string
	// ControlPath is the control socket; empty means RAYOS_DATA/control.sock.
	ControlPath string
	// LibvirtSocket, when set, attaches the real hypervisor: libvirtd on
	// that unix socket, opening LibvirtURI (test:///default, qemu:///system).
	// Empty simulates one.
	LibvirtSocket, LibvirtURI string
	// DebugPanic is a test hook: "before-ready" or "tick=N" makes the
	// runtime panic there, to exercise crash reports and boot counting.
	DebugPanic string
	// Viewer, when set, is the debug viewer (boot/viewer), already
	// listening: the run announces it, publishes to it after every tick,
	// feeds its actions like control requests and routes their ACKs back.
	// ViewerTokenFile is where a boot writes its token (0600; default
	// RAYOS_DATA/viewer.token), removed at exit.
	Viewer          *viewer.Server
	ViewerTokenFile string
	// Fabric is where the demo world's devices come from: auto (the
	// host's SysRoot, default /sys), scene (its synthetic devices) or a
	// fabric file (boot/fabric.go); ThermalSample is how often the
	// sensors are read (0: never).
	Fabric, SysRoot string
	ThermalSample   time.Duration
	// Display, when set, is a Linux framebuffer device (/dev/fb0) the
	// composed frame is shown on, updated from the compositor's damage
	// (boot/display.go): set when rayos runs as PID 1 of the image.
	Display string
	// InputDevices, when set, is a folder of Linux evdev devices
	// (/dev/input) whose event* files feed keys, pointer motion and the
	// power button into the world (boot/physinput.go).
	InputDevices string
	// Signals delivers SIGINT/SIGTERM; each becomes a signal input.
	Signals <-chan os.Signal
	// Stdout receives the marker stream; Logger the diagnostics.
	Stdout io.Writer
	Logger *slog.Logger
}

// Validate checks the options without touching the disk, so that bad input
// is reported before anything is created.
func (o *Options) Validate() error {
	if err := world.ValidateHz(o.Hz); err != nil {
		return fmt.Errorf("--hz: %w", err)
	}
	if err := scene.Known(o.Scene); err != nil {
		return fmt.Errorf("--scene: %w", err)
	}
	if err := o.validateFabric(); err != nil {
		return err
	}
	if o.GPU == "" {
		o.GPU = gpu.ModeAuto
	}
	if !slices.Contains(gpu.Modes, o.GPU) {
		return fmt.Errorf("--gpu %q: want one of %s", o.GPU, strings.Join(gpu.Modes, ", "))
	}
	if o.Entry != "" && !slices.Contains(Entries, o.Entry) {
		return fmt.Errorf("--entry %q: want one of %s", o.Entry, strings.Join(Entries, ", "))
	}
	if o.DataDir != "" {
		if err := CheckDataDir(o.DataDir); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
	}
	if o.ControlPath != "" {
		// Refused before the boot writes a byte.
		if err := guests.CheckControlPath(o.ControlPath); err != nil {
			return fmt.Errorf("--control: %w", err)
		}
	}
	if o.DebugPanic != "" && o.DebugPanic != "before-ready" && !strings.HasPrefix(o.DebugPanic, "tick=") {
		return fmt.Errorf("--debug-panic %q: want before-ready or tick=N", o.DebugPanic)
	}
	for flag, path := range map[string]string{"--record": o.RecordPath, "--snapshot": o.SnapshotPath, "--frame": o.FramePath} {
		if path == "" {
			continue
		}
		if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
			return fmt.Errorf("%s %s: folder %s does not exist", flag, path, filepath.Dir(path))
		}
	}
	return nil
}

// CheckDataDir reports, without changing anything on disk, why path cannot
// serve as RAYOS_DATA: it exists but is not a folder, or its nearest
// existing ancestor is not a folder.
func CheckDataDir(path string) error {
	info, err := os.Stat(path)
	switch {
	case err == nil && !info.IsDir():
		return fmt.Errorf("data dir %s: exists and is not a directory", path)
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("data dir %s: %w", path, err)
	}
	parent := filepath.Dir(filepath.Clean(path))
	if parent == path {
		return nil
	}
	if err := CheckDataDir(parent); err != nil {
		return fmt.Errorf("data dir %s: cannot be created: %w", path, err)
	}
	return nil
}

// runtime is one run: the marker bus, the world once built, and what the
// boot stages decided.
type runtime struct {
	o      *Options
	log    *slog.Logger
	bus    *marker.Bus
	layout Layout
	entry  string
	state  State
	w      *world.World
	policy *policy.Policy
	source string // the text of the policy in force, "" when restricted
	// policyFile is the policy's path (watched for replacement) and
	// registry the registry's, once loaded.
	policyFile, registry string
	policySeen           fileIdentity
	control              *guests.ControlServer
	supervisor           *guests.Supervisor
	registryData         *guests.Registry
	guestSpecs           []scene.GuestSpec
	autostart            []string
	// backend runs the kernels, opened before anything else (Run).
	backend    gpu.Backend
	backendWhy string
	// deferAutostart holds the autostart intents until the hypervisor,
	// unavailable at boot, is first reconciled.
	deferAutostart bool
	closers        []func()
	// physical delivers the input devices' inputs (boot/physinput.go).
	physical <-chan components.Input
	// shots are the screenshot requests waiting for a frame.
	shots screenshots
	// fabric is what the devices were built from (boot/fabric.go).
	fabric fabricState
	// volume is the staged Volume and its retrieval (boot/volume.go).
	volume volumeStage
	// display is the framebuffer the frame is shown on (boot/display.go).
	display displayStage
}

// Run boots RayOS (or replays a journal) and ticks until Ticks, a signal
// input, or the end of the journal. It returns nil on a clean shutdown; a
// panic leaves a crash report in RAYOS_DATA/crash and an error.
func Run(o Options) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	rt := &runtime{o: &o, log: o.Logger}
	if rt.log == nil {
		rt.log = slog.Default()
	}
	// The compute device first: --gpu vulkan without a usable device is
	// refused before anything in RAYOS_DATA is written or announced (it
	// would otherwise count as a failed boot of the entry).
	backend, why, err := gpu.Open(o.GPU, rt.log)
	if err != nil {
		return err
	}
	defer backend.Close()
	rt.backend, rt.backendWhy = backend, why
	stdout, flush := rt.stdoutSink(o.Stdout) // never blocks the tick; boot/sinks.go
	defer flush()
	rt.bus = marker.NewBus(stdout)
	defer func() {
		for i := len(rt.closers) - 1; i >= 0; i-- {
			rt.closers[i]()
		}
	}()
	if o.Replay {
		rt.bus.Emit(marker.Boot("start", "rayos "+Version+" replay"))
		h := o.Journal.Header
		rt.entry = h.Entry
		if rt.entry == "" {
			rt.entry = EntryNormal
		}
		rt.setPolicy("journal", h.Policy)
		rt.o.Attention = h.Attention
		return rt.run()
	}
	rt.bus.Emit(marker.Boot("start", "rayos "+Version))
	if err := rt.boot(); err != nil {
		return err
	}
	defer rt.recoverCrash(&err)
	return rt.run()
}

// ViewJournal replays o.Journal into o.Viewer (a viewer.ModeJournal
// server: rayos view JOURNAL): opened paused at tick 0, holding at the
// journal's end, and replayed from the start again each time the page
// seeks backwards — the same journal gives the same world. It returns
// when a run ends otherwise (a signal).
func ViewJournal(o Options) error {
	if o.Viewer == nil || o.Journal == nil || !o.Replay {
		return errors.New("ViewJournal needs a viewer, a journal and Replay")
	}
	o.Viewer.SetEnd(o.Ticks)
	o.Viewer.Pause()
	for {
		if err := Run(o); err != nil {
			return err
		}
		if _, again := o.Viewer.TakeRewind(); !again {
			return nil
		}
	}
}

// fail emits the failed-stage marker and returns the error.
func (rt *runtime) fail(stage string, err error) error {
	rt.recordFailedAttempt() // every failed boot counts; boot/sequence.go
	rt.bus.Emit(marker.Boot("failed", "stage="+stage+" "+err.Error()))
	return fmt.Errorf("boot stage %s: %w", stage, err)
}

// setPolicy compiles the policy text in force, or installs the restricted
// one when it is empty or invalid.
func (rt *runtime) setPolicy(name, text string) error {
	if text == "" {
		rt.policy, rt.source = policy.RestrictedPolicy("no policy"), ""
		return errors.New("no policy")
	}
	p, err := policy.Load(name, text)
	if err != nil {
		rt.policy, rt.source = policy.RestrictedPolicy(err.Error()), ""
		return err
	}
	rt.policy, rt.source = p, text
	return nil
}

// recoverCrash turns a panic into a crash report and an error.
func (rt *runtime) recoverCrash(err *error) {
	r := recover()
	if r == nil {
		return
	}
	report := CrashReport{Time: time.Now(), Panic: r, Stack: debug.Stack(), Entry: rt.entry, Markers: rt.bus.Recent()}
	if rt.w != nil {
		report.Tick = rt.w.Clock.Tick
	}
	path, werr := report.Write(rt.layout.CrashDir())
	if werr != nil {
		*err = fmt.Errorf("panic: %v (and the crash report failed: %v)", r, werr)
		return
	}
	rel, _ := filepath.Rel(rt.layout.Root, path)
	rt.bus.Emit(marker.Boot("crash", rel))
	*err = fmt.Errorf("panic: %v (crash report: %s)", r, path)
}

// run builds the world, ticks it and shuts it down; it is the same for a
// boot and a replay from the world marker on.
func (rt *runtime) run() (err error) {
	o := rt.o
	backend := rt.backend
	info := backend.Info()
	rt.bus.Emit(marker.Boot("gpu", fmt.Sprintf("backend=%s type=%s device=%q memory=%q why=%q", info.Backend, info.Type, info.Device, info.Memory, rt.backendWhy)))
	rt.announceViewer()
	rt.announceDisplay() // boot/display.go

	w := world.New(world.Config{Seed: o.Seed, Hz: o.Hz, Scene: o.Scene}, rt.bus)
	w.Logger = rt.log
	rt.w = w
	sum, err := scene.Build(o.Scene, w)
	if err != nil {
		return err
	}
	rt.guestSpecs = rt.worldGuests()
	sum.Guests = scene.AddGuests(w, rt.guestSpecs)
	sum.Surfaces += len(sum.Guests)
	if err := rt.buildFabric(w, &sum); err != nil {
		return err
	}
	rt.bus.Emit(marker.Boot("world", fmt.Sprintf("scene=%s seed=%d hz=%g surfaces=%d guests=%d devices=%d tasks=%d",
		o.Scene, o.Seed, o.Hz, sum.Surfaces, len(sum.Guests), sum.Devices, sum.Tasks)))
	rt.announceFabric()
	policy.Install(w.ECS, rt.policy)
	if rt.o.Attention != "" {
		m, err := model.Parse("attention weights", []byte(rt.o.Attention))
		if err != nil {
			return err
		}
		ecs.AddResource(w.ECS, m) // the intent system resolves targets with it
		rt.log.Info("attention model: given weights", "trained", m.Training.Command, "accuracy", m.Training.Accuracy)
	}
	if err := rt.hypervisor(); err != nil {
		return err
	}
	rt.announceGuests(sum)

	sched, mirror, err := Assemble(w, backend)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(sched.Systems()))
	for _, d := range sched.Systems() {
		names = append(names, d.Name)
	}
	rt.bus.Emit(marker.Boot("systems", strings.Join(names, ",")))
	if v := o.Viewer; v != nil {
		v.Attach(w, mirror)
		rt.closers = append(rt.closers, func() { v.Detach(w) })
	}

	var rec *world.JournalWriter
	if o.RecordPath != "" {
		f, err := os.Create(o.RecordPath)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		header := world.JournalHeader{Seed: o.Seed, Scene: o.Scene, Hz: o.Hz, Entry: rt.entry, Policy: rt.source, Attention: o.Attention, Fabric: rt.fabric.text}
		if rt.supervisor != nil {
			header.Hypervisor = "libvirt"
		}
		for _, g := range rt.guestSpecs {
			header.Guests = append(header.Guests, JournalGuest(g))
		}
		if rec, err = world.NewJournalWriter(f, header); err != nil {
			f.Close()
			return fmt.Errorf("--record %s: %w", o.RecordPath, err)
		}
		w.Inbox.OnFeed = rec.Record
	}

	rt.feedAutostart()
	// The control socket is a service: a boot that cannot open it fails
	// before announcing ready (and counts as a failed boot).
	var requests <-chan guests.ControlRequest
	if !o.Replay {
		path := o.ControlPath
		if path == "" {
			path = filepath.Join(rt.layout.Root, "control.sock")
		}
		ctl, err := guests.ListenControl(path)
		if err != nil {
			return rt.fail("services-started", err)
		}
		rt.control = ctl
		rt.closers = append(rt.closers, func() { ctl.Close() })
		rt.bus.AddSink(ctl.MarkerSink()) // ctl watch: queues only, never blocks the tick
		requests = ctl.Requests()
		rt.log.Info("control socket open", "path", path)
	}
	// The keyboard, pointer and power button are services too: open
	// before ready, so a key or the power button pressed the moment the
	// system says it is up is not lost.
	rt.physical = rt.startInputDevices() // boot/physinput.go
	state := "valid"
	if rt.policy.Restricted {
		state = "restricted"
	}
	rt.bus.Emit(marker.Boot("services-started", fmt.Sprintf("entry=%s policy=%s", rt.entry, state)))
	if o.DebugPanic == "before-ready" {
		panic("debug panic before ready (--debug-panic before-ready)")
	}
	if !o.Replay {
		rt.ready()
	}
	rt.bus.Emit(marker.Boot("ready", "tick=0"))

	var policyUpdates <-chan string
	if !o.Replay && rt.entry != EntryPrevious && rt.policyFile != "" {
		updates, stop := watchFile(rt.policyFile, rt.policySeen, 200*time.Millisecond)
		rt.closers = append(rt.closers, stop)
		policyUpdates = updates
	}
	reason := rt.tick(sched, policyUpdates, requests)
	rt.bus.Emit(marker.Boot("shutdown", fmt.Sprintf("reason=%s tick=%d", reason, w.Clock.Tick)))
	rt.saveGuests()
	rt.log.Info("stopped", "reason", reason, "ticks", w.Clock.Tick, "mean_tick", meanTick(w.Stats))

	var errs []error
	if rec != nil {
		if err := rec.Close(w.Clock.Tick); err != nil {
			errs = append(errs, fmt.Errorf("--record %s: %w", o.RecordPath, err))
		}
	}
	if o.SnapshotPath != "" {
		if err := WriteFileAtomic(o.SnapshotPath, 0o644, w.WriteSnapshot); err != nil {
			errs = append(errs, fmt.Errorf("--snapshot: %w", err))
		}
	}
	if o.FramePath != "" {
		if err := WriteFileAtomic(o.FramePath, 0o644, func(out io.Writer) error { return writeFrame(out, mirror) }); err != nil {
			errs = append(errs, fmt.Errorf("--frame: %w", err))
		}
	}
	if err := rt.bus.Err(); err != nil {
		// A marker sink is a copy of the stream: its failure is reported,
		// never the run's exit status.
		rt.log.Warn("marker sink failed", "err", err)
	}
	return errors.Join(errs...)
}

// tick runs the loop and returns why it stopped.
func (rt *runtime) tick(sched *world.Scheduler, policyUpdates <-chan string, requests <-chan guests.ControlRequest) string {
	outbox := ecs.GetResource[bridge.Outbox](rt.w.ECS)
	var results <-chan guests.Result
	var hvEvents <-chan guests.Event
	var frames <-chan guests.Frame
	var captureC <-chan time.Time
	if rt.supervisor != nil {
		results, hvEvents, frames = rt.supervisor.Results(), rt.supervisor.Events(), rt.supervisor.Frames()
		capture := time.NewTicker(CaptureInterval)
		defer capture.Stop()
		captureC = capture.C
	}
	w, o := rt.w, rt.o
	var tickC <-chan time.Time
	if o.Paced {
		ticker := time.NewTicker(w.Clock.Dt)
		defer ticker.Stop()
		tickC = ticker.C
	} else {
		always := make(chan time.Time)
		close(always)
		tickC = always
	}
	panicAt := uint64(0)
	if n, ok := strings.CutPrefix(o.DebugPanic, "tick="); ok {
		panicAt, _ = strconv.ParseUint(n, 10, 64)
	}
	var events []world.JournalEvent
	if o.Journal != nil {
		events = o.Journal.Events
	}
	// The viewer's actions are fed like control requests; its wake-ups
	// answer its queries between ticks; its Gate pauses and steps the
	// tick (--debug, or a replay in rayos view).
	v := o.Viewer
	thermal := rt.startThermal()
	physical := rt.physical
	rt.startDisplay() // boot/display.go
	var viewerRequests <-chan guests.ControlRequest
	var viewerWake <-chan struct{}
	var retrievals <-chan RetrievalAnswer // the Volume's answers to recalls (boot/volume.go)
	if rt.volume.retrieval != nil && !o.Replay {
		retrievals = rt.volume.retrieval.Answers()
	}
	now := make(chan time.Time)
	close(now)
	if v != nil {
		viewerRequests, viewerWake = v.Requests(), v.Wake()
	}
	for {
		if o.Ticks > 0 && w.Clock.Tick >= o.Ticks && (v == nil || !v.Linger()) {
			return "tick-limit"
		}
		// Wait for the next tick, feeding what arrives meanwhile. (A nil
		// channel never delivers; an unpaced run's tick channel is closed,
		// so it never waits.)
		for waiting := true; waiting; {
			next := tickC
			if v != nil {
				if v.Rewinding() {
					return "rewind"
				}
				switch v.Gate(w.Clock.Tick) {
				case viewer.PaceHold:
					next = nil // paused: inputs are still fed, stamped for the next tick
				case viewer.PaceNow:
					next = now // a step or a seek: no waiting for the pace
				}
			}
			select {
			case sig := <-o.Signals:
				feedSignal(w, sig)
				waiting = false
			case text := <-policyUpdates:
				rt.feedPolicy(text)
			case req := <-requests:
				if isScreenshot(req.Line) {
					rt.requestScreenshot(req) // the host's, not the world's: boot/screenshot.go
				} else if isExplain(req.Line) {
					rt.answerExplain(req) // a read between ticks: boot/explain.go
				} else {
					feedRequest(w, req)
				}
			case res := <-results:
				feedResult(w, res)
			case rs := <-thermal:
				feedThermal(w, rs)
			case in := <-physical:
				feedPhysical(w, in)
			case a := <-retrievals:
				feedRetrieval(w, a)
			case ev := <-hvEvents:
				feedEvent(w, ev)
				if rt.deferAutostart && ev.ID == "-" && ev.What == guests.EventReconciled {
					rt.deferAutostart = false
					rt.feedAutostart()
				}
			case f := <-frames:
				rt.showFrame(f)
			case <-captureC:
				rt.capture()
			case req := <-viewerRequests:
				feedRequest(w, req)
			case <-viewerWake:
				v.Serve(w)
			case <-next:
				waiting = false
			}
		}
		if v != nil {
			// The page's actions sent before a step take effect in it,
			// whichever case the wait above picked last.
			for fed := true; fed; {
				select {
				case req := <-viewerRequests:
					feedRequest(w, req)
				default:
					fed = false
				}
			}
		}
		next := w.Clock.Tick + 1
		for len(events) > 0 && events[0].Tick <= next {
			in, _ := events[0].Input.ToInput() // validated when the journal was read
			if in.Kind == components.InputHost && in.Client != 0 && !o.Replay {
				in.Client = journalClient(in.Client)
			}
			w.Inbox.Feed(w.Clock, in)
			events = events[1:]
		}
		if v != nil {
			v.BeforeTick(w)
		}
		sched.Tick(w)
		rt.askVolume()
		for _, a := range outbox.Acks {
			switch {
			case viewer.IsViewerClient(a.Client):
				if v != nil {
					v.Ack(a)
				}
			case rt.control == nil, a.Client == 0 || a.Client > guests.MaxControlClient:
				// Nobody waits on a socket for a journal's requests.
			case a.Notice:
				rt.control.Notify(uint32(a.Request), a.Line)
			default:
				rt.control.Reply(uint32(a.Request), a.Line)
			}
		}
		outbox.Acks = outbox.Acks[:0]
		rt.finishScreenshots()
		if v != nil {
			v.AfterTick(w)
		}
		rt.showDisplay()
		if panicAt != 0 && w.Clock.Tick == panicAt {
			panic(fmt.Sprintf("debug panic at tick %d (--debug-panic tick=%d)", panicAt, panicAt))
		}
		if w.Run.StopReason != "" {
			return strings.ReplaceAll(w.Run.StopReason, " ", "-")
		}
	}
}

// feedPolicy feeds a replaced policy file into the world as an input: the
// gate swaps it in (or refuses it) in the next tick, and the journal keeps
// it for replays.
func (rt *runtime) feedPolicy(text string) {
	rt.log.Info("policy file replaced; reloading", "path", rt.policyFile)
	rt.w.Inbox.Feed(rt.w.Clock, components.Input{Kind: components.InputPolicy, Text: text})
}

// journalClient moves a journal's client number above every control
// connection's and below every viewer connection's (viewer.FirstClient),
// so that a journal fed into a live boot can neither answer a connected
// client's confirmation nor have its ACKs sent to one.
func journalClient(c uint32) uint32 {
	return guests.MaxControlClient + 1 + c%journalClients
}

// journalClients is the size of the journal's range of client numbers.
const journalClients = viewer.FirstClient - guests.MaxControlClient - 1

// announceViewer says where the viewer is (RAYOS_BOOT:viewer, before the
// world: like the gpu marker it describes the host, not the world, so a
// replay's markers from RAYOS_BOOT:world on stay the recording's) and, in
// a boot, writes its token file (0600) and tells the user on stderr.
func (rt *runtime) announceViewer() {
	v := rt.o.Viewer
	if v == nil {
		return
	}
	rt.bus.Emit(marker.Boot("viewer", v.Describe()))
	if rt.o.Replay {
		return // rayos view announces it once, not once per replayed run
	}
	path := rt.o.ViewerTokenFile
	if path == "" {
		path = filepath.Join(rt.layout.Root, "viewer.token")
	}
	if err := v.WriteTokenFile(path); err != nil {
		// A full or read-only RAYOS_DATA must not stop a (recovery) boot:
		// the token then goes to stderr only.
		rt.log.Warn("viewer token file not written; the token is on stderr only", "path", path, "err", err)
		v.Announce("")
		return
	}
	rt.closers = append(rt.closers, func() { os.Remove(path) })
	v.Announce(path)
}

// feedRequest feeds a control-socket request into the world; its answer
// comes back through the bridge's outbox.
func feedRequest(w *world.World, req guests.ControlRequest) {
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputHost, Device: req.ID, Client: req.Client, Text: req.Line})
}

// CaptureInterval is how often presented guests' displays are pulled into
// their surfaces (the v0 "single embedded desktop" transport).
const CaptureInterval = 500 * time.Millisecond

// capture asks the supervisor for the displays of the presented guests.
func (rt *runtime) capture() {
	var ids []string
	q := ecs.NewFilter1[components.Guest](rt.w.ECS).Query()
	for q.Next() {
		if g := q.Get(); g.Presented {
			ids = append(ids, g.ID)
		}
	}
	if len(ids) > 0 {
		rt.supervisor.Capture(ids, 1024, 768)
	}
}

// showFrame puts a captured display into its guest's desktop surface. The
// pixels are presentation, not world state: they go to the GPU mirror's
// atlas, not into components, so snapshots and replays stay exact.
func (rt *runtime) showFrame(f guests.Frame) {
	q := ecs.NewFilter1[components.Guest](rt.w.ECS).Query()
	var desktop components.EntityRef
	for q.Next() {
		if g := q.Get(); g.ID == f.ID && g.Presented {
			desktop = g.Desktop
		}
	}
	e, ok := rt.w.Resolve(desktop)
	if !ok {
		return
	}
	if m := ecs.GetResource[gpu.Mirror](rt.w.ECS); m != nil {
		if err := m.SetTexture(e, f.Width, f.Height, f.Texels); err != nil {
			rt.log.Warn("guest display", "vm", f.ID, "err", err)
		}
	}
}

// feedResult feeds a hypervisor job's result; feedEvent a lifecycle event.
func feedResult(w *world.World, res guests.Result) {
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputEffect, Device: uint32(res.Source), Text: res.Text})
}

func feedEvent(w *world.World, ev guests.Event) {
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputGuestEvent, Text: guests.EventText(ev)})
}

// feedSignal turns a process signal into an input, so the shutdown is part
// of the journal and a replay stops at the same tick for the same reason.
func feedSignal(w *world.World, sig os.Signal) {
	name := sig.String()
	if s, ok := sig.(syscall.Signal); ok {
		switch s {
		case syscall.SIGTERM:
			name = "SIGTERM"
		case syscall.SIGINT:
			name = "SIGINT"
		}
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputSignal, Text: name})
}

// announceGuests emits every guest's state: defined, simulated or real.
// Each autostart VM of the registry gets a "start" intent before the first
// tick — through the policy and the effects like any other start, so a
// simulated guest follows the same lifecycle as a real one (and stays
// defined where the policy does not allow it to start). The recovery
// entry starts none; a replay finds the intents in its journal.
func (rt *runtime) announceGuests(sum scene.Summary) {
	guestMap := ecs.NewMap1[components.Guest](rt.w.ECS)
	for _, e := range sum.Guests {
		g := guestMap.Get(e)
		rt.w.Emit(marker.Guest(g.ID, components.GuestStateNames[g.State]))
		if !rt.o.Replay && rt.entry != EntryRecovery && rt.registryData != nil && rt.registryData.VMs[g.ID].Autostart {
			rt.autostart = append(rt.autostart, g.ID)
		}
	}
}

// feedAutostart asks to start each autostart guest, once the journal is
// recording so a replay sees the same intents.
func (rt *runtime) feedAutostart() {
	if rt.deferAutostart {
		return
	}
	for _, id := range rt.autostart {
		rt.w.Inbox.Feed(rt.w.Clock, components.Input{Kind: components.InputText, Text: "start " + id})
	}
}

// worldGuests are the guests the world gets: the registry's VMs (none when
// it could not be loaded), or the journal's in a replay.
func (rt *runtime) worldGuests() []scene.GuestSpec {
	if rt.o.Replay {
		var specs []scene.GuestSpec
		for _, g := range rt.o.Journal.Header.Guests {
			specs = append(specs, ParseJournalGuest(g))
		}
		return specs
	}
	if rt.registryData == nil {
		return nil
	}
	return GuestSpecs(rt.registryData)
}

// hypervisor installs what carries out hypervisor work: the supervisor over
// libvirtd when --libvirt-socket is given, nothing during a replay of such
// a run (the results are in the journal), the simulation otherwise.
func (rt *runtime) hypervisor() error {
	hv := &effects.Hypervisor{}
	switch {
	case rt.o.Replay && rt.o.Journal.Header.Hypervisor != "":
		hv.Executor = replayed{}
	case !rt.o.Replay && rt.o.LibvirtSocket != "":
		connect := func() (guests.Driver, error) { return guests.NewLibvirt(rt.o.LibvirtSocket, rt.o.LibvirtURI) }
		var vms []string
		if rt.registryData != nil {
			vms = rt.registryData.IDs()
		}
		sup, err := guests.NewSupervisor(connect, vms, rt.domainSpec, guests.KeyMap{Text: keys.Text, Chord: keys.Chord})
		if err != nil {
			return rt.fail("services-started", err)
		}
		rt.supervisor = sup
		rt.closers = append(rt.closers, func() { sup.Close() })
		hv.Executor = sup
		if why := sup.Unavailable(); why != nil {
			// Not up yet is not a failed boot: RayOS boots on, says so
			// (RAYOS_AUDIT:hypervisor:unavailable), and the supervisor
			// keeps trying; autostart waits for the connection.
			rt.deferAutostart = true
			rt.log.Warn("hypervisor unavailable; booting on and reconnecting", "socket", rt.o.LibvirtSocket, "err", why)
		} else {
			rt.log.Info("hypervisor attached", "socket", rt.o.LibvirtSocket, "uri", rt.o.LibvirtURI)
		}
	}
	ecs.AddResource(rt.w.ECS, hv)
	return nil
}

// saveGuests takes a managed-save image of every running guest after the
// world stopped, so the next boot restores them. Its markers follow the
// shutdown marker: they are the host's teardown, not the world's.
func (rt *runtime) saveGuests() {
	if rt.supervisor == nil || rt.registryData == nil {
		return
	}
	var specs []guests.DomainSpec
	for _, id := range rt.registryData.IDs() {
		if spec, err := rt.domainSpec(id); err == nil {
			specs = append(specs, spec)
		}
	}
	saved := rt.supervisor.SaveAll(specs)
	for _, id := range slices.Sorted(maps.Keys(saved)) {
		if saved[id] == "saved" {
			rt.bus.Emit(marker.Guest(id, "saved"))
		} else {
			rt.bus.Emit(marker.Audit("managed-save", "guest="+id+" result="+saved[id]))
		}
	}
}

// replayed is the executor of a replay: results come from the journal.
type replayed struct{}

func (replayed) Execute(uint64, components.IntentAction, string, string) {}
func (replayed) Grant(string, components.ActionSet)                      {}

// domainSpec is the definition of VM id from the registry and the policy
// in force; the supervisor asks for it on the tick that starts the VM.
func (rt *runtime) domainSpec(id string) (guests.DomainSpec, error) {
	if rt.registryData == nil {
		return guests.DomainSpec{}, fmt.Errorf("no registry loaded")
	}
	vm, ok := rt.registryData.VMs[id]
	if !ok {
		return guests.DomainSpec{}, fmt.Errorf("vm %s is not in the registry", id)
	}
	// libvirtd resolves paths from its own working folder: give it
	// absolute ones, and the VM's folder must exist for its serial log.
	root, err := filepath.Abs(rt.layout.Root)
	if err != nil {
		return guests.DomainSpec{}, err
	}
	dir := guests.Dir(root, id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return guests.DomainSpec{}, fmt.Errorf("vm %s: %w", id, err)
	}
	cur := ecs.GetResource[policy.Current](rt.w.ECS)
	return guests.DomainSpec{ID: id, VM: vm, Limits: GuestLimits(cur.Policy, id), Dir: dir}, nil
}

func meanTick(s *world.TickStats) time.Duration {
	if s.Ticks == 0 {
		return 0
	}
	return s.Total / time.Duration(s.Ticks)
}
