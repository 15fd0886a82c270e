package viewer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/systems/policy"
	"github.com/rayos/engine/world"
)

// patience bounds every wait in these tests: a ceiling for a hung test,
// never a measurement.
const patience = 30 * time.Second

// quiet is a logger for servers under test.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// syncBuffer is a bytes.Buffer safe for the runtime's writer and the
// test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// live is a real boot (boot.Run, RAYOS_DATA in a temporary folder, the
// demo world ticking paced) with a viewer attached.
type live struct {
	srv    *viewer.Server
	data   string
	stdout *syncBuffer
}

// startLive boots the demo world at hz with a viewer configured by cfg
// (its address defaults to a free loopback port); the boot stops at the
// end of the test.
func startLive(t *testing.T, cfg viewer.Config, hz float64) *live {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	cfg.Logger = quiet
	srv, err := viewer.New(cfg, viewer.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	l := &live{srv: srv, data: filepath.Join(t.TempDir(), "data"), stdout: &syncBuffer{}}
	sigs := make(chan os.Signal, 1)
	done := make(chan error, 1)
	o := boot.Options{DataDir: l.data, Scene: "demo", Hz: hz, Seed: 1, Paced: true, GPU: gpu.ModeCPU,
		Viewer: srv, Signals: sigs, Stdout: l.stdout, Logger: quiet}
	go func() { done <- boot.Run(o) }()
	t.Cleanup(func() {
		sigs <- syscall.SIGTERM
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("boot: %v", err)
			}
		case <-time.After(patience):
			t.Errorf("boot did not stop")
		}
		srv.Close()
	})
	return l
}

// client is a real WebSocket client of the viewer (coder/websocket).
type client struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
	// frame is the frame the binary messages built so far.
	frame         []uint32
	width, height int
	version       uint64
	// deltas are the tile counts of the frame messages received.
	deltas []int
	// markers are every marker the client was sent, in order.
	markers []viewer.MarkerItem
}

// msg is one text message from the server, its type and its JSON.
type msg struct {
	T   string
	Raw json.RawMessage
}

func (m msg) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Raw, v); err != nil {
		t.Fatalf("%s: %v\n%s", m.T, err, m.Raw)
	}
}

// dial connects to the server's /ws, with the token in the URL when one
// is given.
func dial(t *testing.T, srv *viewer.Server, token string) *client {
	t.Helper()
	c, resp, err := dialRaw(t, srv, token, nil)
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	return c
}

func dialRaw(t *testing.T, srv *viewer.Server, token string, opts *websocket.DialOptions) (*client, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	url := "ws://" + srv.Addr() + "/ws"
	if token != "" {
		url += "?token=" + token
	}
	conn, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(-1)
	t.Cleanup(func() { conn.CloseNow() })
	return &client{t: t, conn: conn, ctx: ctx}, resp, nil
}

func (c *client) send(v any) {
	c.t.Helper()
	var data []byte
	switch v := v.(type) {
	case string:
		data = []byte(v)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.conn.Write(c.ctx, websocket.MessageText, data); err != nil {
		c.t.Fatalf("send %s: %v", data, err)
	}
}

// next reads the next text message, applying binary frame messages to
// the client's frame on the way.
func (c *client) next() (msg, error) {
	for {
		typ, data, err := c.conn.Read(c.ctx)
		if err != nil {
			return msg{}, err
		}
		if typ == websocket.MessageBinary {
			f, w, h, v, err := viewer.DecodeFrame(data, c.frame)
			if err != nil {
				c.t.Fatalf("frame message: %v", err)
			}
			c.frame, c.width, c.height, c.version = f, w, h, v
			c.deltas = append(c.deltas, int(binary.LittleEndian.Uint32(data[32:])))
			continue
		}
		var head struct{ T string }
		if err := json.Unmarshal(data, &head); err != nil {
			c.t.Fatalf("message is not JSON: %v: %s", err, data)
		}
		m := msg{T: head.T, Raw: data}
		if m.T == viewer.OutMarkers {
			var mm viewer.MarkersMsg
			m.decode(c.t, &mm)
			if mm.History {
				c.markers = c.markers[:0]
			}
			c.markers = append(c.markers, mm.Items...)
		}
		return m, nil
	}
}

// await reads until a message satisfies ok, and returns it.
func (c *client) await(what string, ok func(m msg) bool) msg {
	c.t.Helper()
	for {
		m, err := c.next()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(m) {
			return m
		}
	}
}

// awaitType waits for the next message of type typ.
func (c *client) awaitType(typ string) msg {
	c.t.Helper()
	return c.await(typ, func(m msg) bool { return m.T == typ })
}

// awaitState waits for a state message that satisfies ok.
func (c *client) awaitState(what string, ok func(st *viewer.State) bool) *viewer.State {
	c.t.Helper()
	var st viewer.State
	c.await(what, func(m msg) bool {
		if m.T != viewer.OutState {
			return false
		}
		m.decode(c.t, &st)
		return ok(&st)
	})
	return &st
}

// awaitMarker waits until the client was sent a marker that satisfies ok.
func (c *client) awaitMarker(what string, ok func(it viewer.MarkerItem) bool) viewer.MarkerItem {
	c.t.Helper()
	for {
		if i := slices.IndexFunc(c.markers, ok); i >= 0 {
			return c.markers[i]
		}
		if _, err := c.next(); err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

// awaitError waits for an error message answering id.
func (c *client) awaitError(id uint32) viewer.ErrorMsg {
	c.t.Helper()
	var e viewer.ErrorMsg
	c.await("an error", func(m msg) bool {
		if m.T != viewer.OutError {
			return false
		}
		m.decode(c.t, &e)
		return e.ID == id
	})
	return e
}

// closeStatus reads until the connection ends and returns how.
func (c *client) closeStatus() (websocket.StatusCode, string) {
	c.t.Helper()
	for {
		if _, err := c.next(); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

// harness ticks a real world (the full pipeline on the CPU backend) on
// the test's goroutine, with the viewer's hooks where boot.Run calls
// them: the tests that must know exactly how far the world got use it.
type harness struct {
	quit, done chan struct{}
	w          *world.World
	sched      *world.Scheduler
	mirror     *gpu.Mirror
	srv        *viewer.Server
	outbox     *bridge.Outbox
}

func newHarness(t testing.TB, scene string, cfg viewer.Config) *harness {
	t.Helper()
	return newHarnessOn(t, scene, cfg, gpu.NewCPU())
}

// newHarnessOn is newHarness with the kernels on backend.
func newHarnessOn(t testing.TB, scene string, cfg viewer.Config, backend gpu.Backend) *harness {
	t.Helper()
	h := newWorldOn(t, scene, backend)
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	cfg.Logger = quiet
	srv, err := viewer.New(cfg, viewer.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	h.srv = srv
	srv.Attach(h.w, h.mirror)
	return h
}

// newWorld builds a scene's world with the default policy and the full
// pipeline on the CPU backend, without a viewer.
func newWorld(t testing.TB, scene string) *harness {
	t.Helper()
	return newWorldOn(t, scene, gpu.NewCPU())
}

func newWorldOn(t testing.TB, scene string, backend gpu.Backend) *harness {
	t.Helper()
	p, err := policy.Load("default", policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	w, sched, err := boot.BuildWorld(world.Config{Seed: 1, Hz: 60, Scene: scene}, backend, p)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{w: w, sched: sched, mirror: ecs.GetResource[gpu.Mirror](w.ECS), outbox: ecs.GetResource[bridge.Outbox](w.ECS)}
}

// start ticks the world on a goroutine of its own, every millisecond,
// until stop; the test must not touch the world meanwhile.
func (h *harness) start() {
	h.quit, h.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-h.quit:
				return
			case <-tk.C:
				h.tick()
			}
		}
	}()
}

// stop stops start's goroutine and waits for it.
func (h *harness) stop() {
	close(h.quit)
	<-h.done
}

// tick runs one tick with the viewer's hooks.
func (h *harness) tick() {
	h.srv.BeforeTick(h.w)
	h.sched.Tick(h.w)
	for _, a := range h.outbox.Acks {
		h.srv.Ack(a)
	}
	h.outbox.Acks = h.outbox.Acks[:0]
	h.srv.AfterTick(h.w)
}

// serveSnapshotOf writes h's world as a snapshot, reads it back and serves
// it, as rayos view SNAPSHOT does; the server closes with the test.
func serveSnapshotOf(t *testing.T, h *harness) (*viewer.Server, *viewer.Snapshot) {
	t.Helper()
	var buf bytes.Buffer
	if err := h.w.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	snap, err := viewer.ReadSnapshot(bytes.NewReader(buf.Bytes()), "world.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := viewer.New(viewer.Config{Addr: "127.0.0.1:0", Logger: quiet}, viewer.ModeSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.ServeSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	return srv, snap
}
