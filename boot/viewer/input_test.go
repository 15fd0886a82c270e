package viewer_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// fed records what enters a harness world's inbox, as --record would.
type fed struct {
	mu sync.Mutex
	in []components.Input
}

func recordFeeds(h *harness) *fed {
	f := &fed{}
	h.w.Inbox.OnFeed = func(_ uint64, in components.Input) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.in = append(f.in, in)
	}
	return f
}

// of returns the fed inputs of the page's kinds (keys and pointer).
func (f *fed) of() []components.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []components.Input
	for _, in := range f.in {
		if in.Kind == components.InputKey || in.Kind == components.InputPointer {
			out = append(out, in)
		}
	}
	return out
}

// settle waits until the server has read every message c sent before: it
// answers a malformed input (id 999) only after them.
func settle(c *client) {
	c.t.Helper()
	c.send(`{"t":"input","id":999,"kind":"settle"}`)
	c.awaitError(999)
}

// Keys and pointer from an authorized page enter the inbox before the next
// tick, in order, as inputs of the client's own device; pointer moves
// between two presses are coalesced into the last; what is fed survives the
// journal's round trip, so --record keeps it and a replay feeds it again.
func TestPageInputsReachTheInbox(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	f := recordFeeds(h)
	c := dial(t, h.srv, h.srv.Token())
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if !hello.Inputs {
		t.Fatalf("hello of an authorized live client: %+v", hello)
	}
	for _, m := range []string{
		`{"t":"input","kind":"key","key":30,"pressed":true}`,
		`{"t":"input","kind":"key","key":30,"pressed":false}`,
		`{"t":"input","kind":"pointer","x":10,"y":20}`,
		`{"t":"input","kind":"pointer","x":11.5,"y":21}`,
		`{"t":"input","kind":"pointer","x":1919.5,"y":1079.25,"buttons":0}`,
		`{"t":"input","kind":"pointer","x":1919.5,"y":1079.25,"buttons":1}`,
		`{"t":"input","kind":"pointer","x":100,"y":100,"buttons":1}`,
		`{"t":"input","kind":"pointer","x":200,"y":300,"buttons":1}`,
		`{"t":"input","kind":"pointer","x":200,"y":300,"buttons":0}`,
		`{"t":"input","kind":"pointer","x":0,"y":0,"buttons":6}`,
	} {
		c.send(m)
	}
	settle(c)
	if got := f.of(); len(got) != 0 {
		t.Fatalf("%d inputs fed before the tick", len(got))
	}
	h.tick()
	d := hello.Client
	key := func(code uint16, pressed bool) components.Input {
		return components.Input{Kind: components.InputKey, Device: d, Key: code, Pressed: pressed}
	}
	ptr := func(x, y float32, b uint32) components.Input {
		return components.Input{Kind: components.InputPointer, Device: d, Pointer: [2]float32{x, y}, Buttons: b}
	}
	want := []components.Input{
		key(30, true), key(30, false),
		ptr(1919.5, 1079.25, 0), // three moves, one position
		ptr(1919.5, 1079.25, 1), // the press
		ptr(200, 300, 1),        // the drag, coalesced
		ptr(200, 300, 0),        // the release
		ptr(0, 0, 6),
	}
	got := f.of()
	if len(got) != len(want) {
		t.Fatalf("fed %d inputs, want %d: %+v", len(got), len(want), got)
	}
	for i, in := range got {
		seq, ns := in.Seq, in.TimeNs
		in.Seq, in.TimeNs = 0, 0
		if in != want[i] {
			t.Errorf("input %d: %+v, want %+v", i, in, want[i])
		}
		if seq == 0 || ns != int64(h.w.Clock.Tick)*int64(h.w.Clock.Dt) {
			t.Errorf("input %d: seq %d, time %d ns: not stamped for tick %d", i, seq, ns, h.w.Clock.Tick)
		}
		back, err := world.FromInput(got[i]).ToInput()
		if err != nil {
			t.Errorf("input %d does not replay: %v", i, err)
		}
		back.Seq, back.TimeNs = 0, 0
		if back != in {
			t.Errorf("input %d replays as %+v, want %+v", i, back, in)
		}
	}
	// Consumed by that tick: the next one feeds nothing more.
	h.tick()
	if n := len(f.of()); n != len(want) {
		t.Errorf("%d inputs after another tick, want %d", n, len(want))
	}
}

// Malformed, out-of-range and unauthorized inputs get a clear error naming
// what is wrong, and nothing reaches the world.
func TestBadInputsChangeNothing(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	f := recordFeeds(h)
	anon := dial(t, h.srv, "")
	var hello viewer.Hello
	anon.awaitType(viewer.OutHello).decode(t, &hello)
	if hello.Inputs {
		t.Error("a client without the token is told its inputs are accepted")
	}
	c := dial(t, h.srv, h.srv.Token())
	c.awaitType(viewer.OutHello)
	cases := []struct {
		who        *client
		send, code string
		want       string
	}{
		{anon, `{"t":"input","id":1,"kind":"key","key":30,"pressed":true}`, viewer.CodeUnauthorized, "inputs need the viewer token"},
		{anon, `{"t":"input","id":2,"kind":"pointer","x":5,"y":5}`, viewer.CodeUnauthorized, "inputs need the viewer token"},
		{c, `{"t":"input","id":3,"kind":"mouse","x":5,"y":5}`, viewer.CodeBadMessage, `unknown input kind "mouse" (want key or pointer)`},
		{c, `{"t":"input","id":4}`, viewer.CodeBadMessage, `unknown input kind ""`},
		{c, `{"t":"input","id":5,"kind":"key","pressed":true}`, viewer.CodeBadMessage, `no "key"`},
		{c, `{"t":"input","id":6,"kind":"key","key":0,"pressed":true}`, viewer.CodeBadMessage, "key 0 is not a Linux input key code (1…767)"},
		{c, `{"t":"input","id":7,"kind":"key","key":768,"pressed":true}`, viewer.CodeBadMessage, "key 768 is not a Linux input key code"},
		{c, `{"t":"input","id":8,"kind":"key","key":-30,"pressed":true}`, viewer.CodeBadMessage, "key -30 is not"},
		{c, `{"t":"input","id":9,"kind":"key","key":30}`, viewer.CodeBadMessage, `no "pressed"`},
		{c, `{"t":"input","id":10,"kind":"key","key":30,"pressed":true,"x":1}`, viewer.CodeBadMessage, "belong to pointer inputs"},
		{c, `{"t":"input","id":11,"kind":"pointer","x":1,"y":1,"key":30}`, viewer.CodeBadMessage, "belong to key inputs"},
		{c, `{"t":"input","id":12,"kind":"pointer","x":1}`, viewer.CodeBadMessage, `no "x" and "y"`},
		{c, `{"t":"input","id":13,"kind":"pointer","x":-1,"y":1}`, viewer.CodeBadMessage, "is not inside the frame"},
		{c, `{"t":"input","id":14,"kind":"pointer","x":1920,"y":1}`, viewer.CodeBadMessage, "is not inside the 1920×1080 frame"},
		{c, `{"t":"input","id":15,"kind":"pointer","x":1,"y":1080}`, viewer.CodeBadMessage, "is not inside the 1920×1080 frame"},
		{c, `{"t":"input","id":16,"kind":"pointer","x":1919.99999999,"y":1}`, viewer.CodeBadMessage, "is not inside the 1920×1080 frame"},
		{c, `{"t":"input","id":17,"kind":"pointer","x":1,"y":1,"buttons":8}`, viewer.CodeBadMessage, "buttons 8 is not a mask"},
		{c, `{"t":"input","id":18,"kind":"pointer","x":1,"y":1,"buttons":-1}`, viewer.CodeBadMessage, "buttons -1 is not a mask"},
		// Not decodable at all: answered with id 0.
		{c, `{"t":"input","id":19,"kind":"key","key":30.5,"pressed":true}`, viewer.CodeBadMessage, "not a JSON object"},
		{c, `{"t":"input","id":20,"kind":"pointer","x":1e400,"y":1}`, viewer.CodeBadMessage, "not a JSON object"},
		{c, `{"t":"input","id":21,"kind":"pointer","x":"NaN","y":1}`, viewer.CodeBadMessage, "not a JSON object"},
		{c, `{"t":"input","id":22,"kind":"key","key":30,"pressed":"yes"}`, viewer.CodeBadMessage, "not a JSON object"},
		{c, `{"t":"input","id":23,"kind":"key","key":30,"pressed":true,"text":"rm -rf"}`, viewer.CodeBadMessage, `unknown field "text"`},
	}
	for _, tc := range cases {
		tc.who.send(tc.send)
		var id uint32
		fmt.Sscanf(tc.send[strings.Index(tc.send, `"id":`)+5:], "%d", &id)
		if tc.code == viewer.CodeBadMessage && tc.want == "not a JSON object" || strings.Contains(tc.want, "unknown field") {
			id = 0
		}
		e := tc.who.awaitError(id)
		if e.Code != tc.code || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: error %s %q, want %s containing %q", tc.send, e.Code, e.Error, tc.code, tc.want)
		}
	}
	for range 3 {
		h.tick()
	}
	if got := f.of(); len(got) != 0 {
		t.Errorf("refused inputs reached the world: %+v", got)
	}
	// The connection still works: a good input goes through.
	c.send(`{"t":"input","kind":"key","key":28,"pressed":true}`)
	settle(c)
	h.tick()
	if got := f.of(); len(got) != 1 || got[0].Key != 28 {
		t.Errorf("after the refusals, fed %+v, want KEY_ENTER", got)
	}
}

// A client over its input rate is refused (one error per burst, not one per
// input), and one that keeps flooding is disconnected; what it sent over
// the rate never reaches the world.
func TestInputFloodIsRefusedThenDisconnected(t *testing.T) {
	const per = 5
	h := newHarness(t, "demo", viewer.Config{InputRate: per})
	frozen := time.Unix(1e9, 0)
	viewer.SetClock(h.srv, func() time.Time { return frozen })
	f := recordFeeds(h)
	c := dial(t, h.srv, h.srv.Token())
	c.awaitType(viewer.OutHello)
	key := func(id int) string {
		return fmt.Sprintf(`{"t":"input","id":%d,"kind":"key","key":30,"pressed":%t}`, id, id%2 == 1)
	}
	for i := 1; i <= per+1; i++ {
		c.send(key(i))
	}
	if e := c.awaitError(per + 1); e.Code != viewer.CodeBusy || !strings.Contains(e.Error, "more than 5 inputs a second") {
		t.Errorf("over the rate: %+v", e)
	}
	for i := per + 2; i <= 4*per; i++ {
		c.send(key(i))
	}
	code, reason := c.closeStatus()
	if code != websocket.StatusPolicyViolation || !strings.Contains(reason, "input flood") {
		t.Errorf("closed with %d %q, want 1008 input flood", code, reason)
	}
	h.tick()
	if got := f.of(); len(got) != per {
		t.Errorf("fed %d inputs, want the %d within the rate", len(got), per)
	}
}

// The inputs waiting for the tick are bounded for all clients together: a
// paused or slow world refuses more with "busy" and keeps what it has.
func TestInputQueueIsBounded(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{InputRate: 10000})
	frozen := time.Unix(1e9, 0)
	viewer.SetClock(h.srv, func() time.Time { return frozen })
	f := recordFeeds(h)
	c := dial(t, h.srv, h.srv.Token())
	c.awaitType(viewer.OutHello)
	const queue = 256
	for i := 1; i <= queue+1; i++ {
		c.send(fmt.Sprintf(`{"t":"input","id":%d,"kind":"key","key":%d,"pressed":true}`, i, 1+i%100))
	}
	if e := c.awaitError(queue + 1); e.Code != viewer.CodeBusy || !strings.Contains(e.Error, "256 inputs already wait for the tick") {
		t.Errorf("the 257th input: %+v", e)
	}
	h.tick()
	if got := f.of(); len(got) != queue || got[0].Key != 2 || got[queue-1].Key != 1+queue%100 {
		t.Errorf("fed %d inputs, want the first %d in order", len(got), queue)
	}
}

// rayos view (a snapshot, a journal) feeds nothing but what was recorded:
// a page's inputs are refused there, even with the token.
func TestInputsRefusedOutsideALiveWorld(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	h.tick()
	srv, _ := serveSnapshotOf(t, h)
	c := dial(t, srv, srv.Token())
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if hello.Inputs {
		t.Errorf("a snapshot's hello says inputs are accepted: %+v", hello)
	}
	c.send(`{"t":"input","id":4,"kind":"key","key":30,"pressed":true}`)
	if e := c.awaitError(4); e.Code != viewer.CodeUnavailable || !strings.Contains(e.Error, "rayos view of a snapshot") {
		t.Errorf("input to a snapshot: %+v", e)
	}
}
