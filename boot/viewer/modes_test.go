package viewer_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
)

// With --debug the page pauses, steps and resumes the tick; the world is
// served while paused, and an action sent meanwhile takes effect in the
// next tick that runs.
func TestDebugPauseStepResume(t *testing.T) {
	l := startLive(t, viewer.Config{Debug: true}, 200)
	anon := dial(t, l.srv, "")
	var hello viewer.Hello
	anon.awaitType(viewer.OutHello).decode(t, &hello)
	if !hello.Control {
		t.Fatal("hello: no tick control with --debug")
	}
	anon.send(viewer.Inbound{T: viewer.InControl, ID: 1, Op: viewer.ControlPause})
	if e := anon.awaitError(1); e.Code != viewer.CodeUnauthorized {
		t.Errorf("pause without the token: %+v", e)
	}
	c := dial(t, l.srv, l.srv.Token())
	c.awaitState("guests started", func(st *viewer.State) bool { return len(st.Guests) == 2 && st.Guests[0].State == "hidden" })
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlPause})
	paused := c.awaitState("paused", func(st *viewer.State) bool { return st.Paused })
	// Paused, the world is still served.
	c.send(viewer.Inbound{T: viewer.InQuery, ID: 2, Q: viewer.QueryEntities, Kind: "Guest"})
	c.await("a reply while paused", func(m msg) bool { return m.T == viewer.OutReply })
	// The tick it paused at may still have been running: start from the
	// state the pause published.
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlStep, Count: 3})
	st := c.awaitState("three steps", func(st *viewer.State) bool { return st.Tick >= paused.Tick+3 })
	if st.Tick != paused.Tick+3 || !st.Paused {
		t.Fatalf("after 3 steps from tick %d: tick %d, paused %t", paused.Tick, st.Tick, st.Paused)
	}
	// An action while paused is fed, stamped for the next tick.
	c.send(viewer.Inbound{T: viewer.InAction, ID: 3, Op: "present", Arg: "linux"})
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlStep})
	var ack viewer.AckMsg
	c.await("the ACK of present", func(m msg) bool {
		if m.T == viewer.OutAck {
			m.decode(t, &ack)
			return ack.ID == 3
		}
		return false
	})
	event := c.awaitMarker("the host event", func(it viewer.MarkerItem) bool { return it.Line == "RAYOS_HOST_EVENT_V0:present:linux" })
	if !ack.OK || event.Tick != st.Tick+1 {
		t.Errorf("ack %+v, host event at tick %d: want ok, at tick %d (the step after the pause)", ack, event.Tick, st.Tick+1)
	}
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlResume})
	c.awaitState("running again", func(s *viewer.State) bool { return !s.Paused && s.Tick > st.Tick+20 })
	c.send(viewer.Inbound{T: viewer.InControl, ID: 4, Op: viewer.ControlSeek, Tick: 5})
	if e := c.awaitError(4); !strings.Contains(e.Error, "only a replayed journal") {
		t.Errorf("seek in a live world: %+v", e)
	}
}

// The viewer never changes the world: a run with a viewer attached and a
// client connected ends in the same snapshot, and prints the same
// markers from the world on, as the same run without.
func TestViewerDoesNotChangeTheWorld(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "in.jsonl")
	os.WriteFile(journal, []byte(`{"format":"rayos-journal","version":1,"seed":5,"scene":"desktop","hz":500}
{"tick":3,"input":{"kind":"gaze","device":1,"origin":[0,1.6,0],"direction":[0,0,-1]}}
{"tick":4,"input":{"kind":"voice","text":"present linux"}}
{"tick":30,"input":{"kind":"gaze","device":1,"origin":[0.3,1.7,0],"direction":[0.1,0,-1]}}
{"end":200}
`), 0o644)
	j, err := world.ReadJournalFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, srv *viewer.Server) (snapshot []byte, markers string) {
		out := &syncBuffer{}
		o := boot.Options{DataDir: filepath.Join(dir, name), Scene: "desktop", Hz: 500, Seed: 5, Ticks: 200, GPU: gpu.ModeCPU,
			Journal: j, SnapshotPath: filepath.Join(dir, name+".json"), Stdout: out, Logger: quiet, Viewer: srv}
		if err := boot.Run(o); err != nil {
			t.Fatal(err)
		}
		snap, err := os.ReadFile(o.SnapshotPath)
		if err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(out.String(), "RAYOS_BOOT:world:")
		return snap, after
	}
	srv, err := viewer.New(viewer.Config{Addr: "127.0.0.1:0", Logger: quiet, StateInterval: time.Millisecond, FrameInterval: time.Millisecond}, viewer.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := dial(t, srv, srv.Token())
	c.awaitType(viewer.OutHello)
	withSnap, withMarkers := run("with", srv)
	withoutSnap, withoutMarkers := run("without", nil)
	if !bytes.Equal(withSnap, withoutSnap) {
		t.Error("the final world differs with a viewer attached")
	}
	if withMarkers != withoutMarkers || !strings.Contains(withMarkers, "RAYOS_GUEST:linux:presented") {
		t.Errorf("markers differ with a viewer attached:\n%s\n---\n%s", withMarkers, withoutMarkers)
	}
	// The client saw the run, to its end.
	c.awaitState("the run's last state", func(st *viewer.State) bool { return st.Ended && st.Tick == 200 })
}

// rayos view JOURNAL: the replay opens paused at tick 0, seeks forwards
// and backwards (replaying from the start), steps, plays to the end and
// holds there; actions are refused.
func TestViewJournalSeeks(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "run.jsonl")
	os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(`{"format":"rayos-journal","version":1,"seed":5,"scene":"demo","hz":500}
{"tick":4,"input":{"kind":"voice","text":"present linux"}}
{"tick":20,"input":{"kind":"voice","text":"hide linux"}}
{"end":60}
`), 0o644)
	in, err := world.ReadJournalFile(filepath.Join(dir, "in.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := boot.Run(boot.Options{DataDir: filepath.Join(dir, "data"), Scene: "demo", Hz: 500, Seed: 5, Ticks: 60, GPU: gpu.ModeCPU,
		Journal: in, RecordPath: record, Stdout: &syncBuffer{}, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	j, err := world.ReadJournalFile(record)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := viewer.New(viewer.Config{Addr: "127.0.0.1:0", Logger: quiet}, viewer.ModeJournal)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- boot.ViewJournal(boot.Options{Seed: j.Header.Seed, Scene: j.Header.Scene, Hz: j.Header.Hz, Ticks: j.LastTick(),
			Journal: j, Replay: true, Paced: true, GPU: gpu.ModeCPU, Viewer: srv, Signals: sigs, Stdout: &syncBuffer{}, Logger: quiet})
	}()
	c := dial(t, srv, srv.Token())
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if hello.Mode != viewer.ModeJournal || !hello.Seek || hello.Actions {
		t.Errorf("hello %+v", hello)
	}
	st := c.awaitState("paused at 0", func(st *viewer.State) bool { return st.Paused })
	if st.Tick != 0 || st.End != 60 {
		t.Errorf("opened at tick %d of %d, want 0 of 60", st.Tick, st.End)
	}
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlSeek, Tick: 30})
	st = c.awaitState("tick 30", func(st *viewer.State) bool { return st.Tick == 30 && st.Paused })
	if st.Guests[0].Presented {
		t.Error("linux presented at tick 30; the journal hid it at 20")
	}
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlSeek, Tick: 10})
	c.awaitType(viewer.OutReset)
	st = c.awaitState("back at tick 10", func(st *viewer.State) bool { return st.Tick == 10 && st.Paused && !st.Ended })
	if !st.Guests[0].Presented {
		t.Error("linux not presented at tick 10; the journal presented it at 4")
	}
	presented := c.awaitMarker("the replayed present", func(it viewer.MarkerItem) bool { return it.Line == "RAYOS_GUEST:linux:presented" })
	if presented.Tick < 4 || presented.Tick > 10 {
		t.Errorf("presented at tick %d of the replay", presented.Tick)
	}
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlStep, Count: 5})
	c.awaitState("tick 15", func(st *viewer.State) bool { return st.Tick == 15 && st.Paused })
	c.send(viewer.Inbound{T: viewer.InAction, ID: 9, Op: "present", Arg: "windows"})
	if e := c.awaitError(9); e.Code != viewer.CodeUnavailable || !strings.Contains(e.Error, "rayos view of a journal") {
		t.Errorf("action in a replay: %+v", e)
	}
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlResume})
	st = c.awaitState("the end", func(st *viewer.State) bool { return st.Tick == 60 && st.Paused })
	c.send(viewer.Inbound{T: viewer.InControl, Op: viewer.ControlStep})
	c.send(viewer.Inbound{T: viewer.InQuery, ID: 10, Q: viewer.QueryEntities, Kind: "Guest"})
	c.await("a reply at the end", func(m msg) bool { return m.T == viewer.OutReply })
	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// rayos view SNAPSHOT: the world of a snapshot file, frozen, with its
// frame composed from its surfaces.
func TestViewSnapshot(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	for range 30 {
		h.tick()
	}
	srv, snap := serveSnapshotOf(t, h)
	c := dial(t, srv, srv.Token())
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if hello.Mode != viewer.ModeSnapshot || hello.Actions || hello.Control {
		t.Errorf("hello %+v", hello)
	}
	st := c.awaitState("the snapshot's state", func(st *viewer.State) bool { return st.Frame.Version > 0 && c.version == st.Frame.Version })
	if st.Tick != 30 || st.Entities != len(snap.Entities) || st.Entities != h.w.ECS.Stats().Entities.Used || len(st.Guests) != 2 || !st.Ended {
		t.Errorf("state: tick %d, %d entities (world %d), %d guests, ended %t", st.Tick, st.Entities, h.w.ECS.Stats().Entities.Used, len(st.Guests), st.Ended)
	}
	if c.width != 1920 || c.height != 1080 {
		t.Errorf("frame %d×%d", c.width, c.height)
	}
	c.send(viewer.Inbound{T: viewer.InQuery, ID: 1, Q: viewer.QueryEntities, Kind: "Guest"})
	var reply struct{ Data viewer.EntitiesReply }
	c.await("guests", func(m msg) bool { return m.T == viewer.OutReply }).decode(t, &reply)
	if len(reply.Data.Rows) != 2 || !strings.HasPrefix(reply.Data.Rows[0].Label, "guest linux") {
		t.Errorf("guests of the snapshot: %+v", reply.Data.Rows)
	}
	c.send(viewer.Inbound{T: viewer.InAction, ID: 2, Op: "present", Arg: "linux"})
	if e := c.awaitError(2); e.Code != viewer.CodeUnavailable {
		t.Errorf("action on a snapshot: %+v", e)
	}
	for name, text := range map[string]string{
		"not JSON":  "hello",
		"a journal": `{"format":"rayos-journal","version":1,"seed":5,"scene":"demo","hz":500}` + "\n",
		"no config": `{"entities":[]}`,
	} {
		if _, err := viewer.ReadSnapshot(strings.NewReader(text), "x.json"); err == nil || !strings.Contains(err.Error(), "x.json: not a RayOS world snapshot") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
