package viewer_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rayos/engine/boot/viewer"
)

// Every malformed or refused message gets an error that says what is
// wrong, the connection stays usable, and nothing reaches the world: no
// host event, no guest presented.
func TestBadMessagesGetClearErrorsAndChangeNothing(t *testing.T) {
	l := startLive(t, viewer.Config{}, 200)
	anon := dial(t, l.srv, "")
	anon.awaitType(viewer.OutHello)
	anon.awaitState("guests hidden", func(st *viewer.State) bool {
		return len(st.Guests) == 2 && st.Guests[0].State == "hidden" && st.Guests[1].State == "hidden"
	})
	c := dial(t, l.srv, l.srv.Token())
	c.awaitType(viewer.OutHello)
	cases := []struct {
		who  *client
		id   uint32
		send string
		code string
		want string
	}{
		{c, 0, `not json`, viewer.CodeBadMessage, "not a JSON object"},
		{c, 0, `{"id":1}`, viewer.CodeBadMessage, `no "t"`},
		{c, 2, `{"t":"reboot","id":2}`, viewer.CodeBadMessage, `unknown message type "reboot"`},
		{c, 0, `{"t":"action","id":3,"op":"present","arg":"linux","extra":1}`, viewer.CodeBadMessage, `unknown field "extra"`},
		{c, 4, `{"t":"action","id":4,"op":"reboot","arg":"linux"}`, viewer.CodeBadMessage, `unknown action "reboot" (want one of present, hide, start, shutdown, confirm, cancel)`},
		{c, 5, `{"t":"action","id":5,"op":"present","arg":"linux\npresent windows"}`, viewer.CodeBadMessage, "is not a VM id"},
		{c, 6, `{"t":"action","id":6,"op":"present","arg":""}`, viewer.CodeBadMessage, "is not a VM id"},
		{c, 7, `{"t":"action","id":7,"op":"confirm","arg":"17; present linux"}`, viewer.CodeBadMessage, "is not a request id"},
		{c, 8, `{"t":"query","id":8,"q":"entities","limit":100000}`, viewer.CodeBadMessage, "limit 100000 is not in 0…100"},
		{c, 9, `{"t":"query","id":9,"q":"everything"}`, viewer.CodeBadMessage, `unknown query "everything"`},
		{c, 10, `{"t":"query","id":10,"q":"entity"}`, viewer.CodeBadMessage, `no "entity"`},
		{c, 11, `{"t":"query","id":11,"q":"entities","kind":"Nothing"}`, viewer.CodeNotFound, `no component kind "Nothing"`},
		{c, 12, `{"t":"query","id":12,"q":"entity","entity":{"id":99999,"gen":3}}`, viewer.CodeNotFound, "entity 99999 (generation 3) is gone"},
		{c, 21, `{"t":"query","id":21,"q":"entity","entity":{"id":1,"gen":0}}`, viewer.CodeNotFound, "entity 1 (generation 0) is gone"},
		{c, 22, `{"t":"query","id":22,"q":"task","entity":{"id":4294967295,"gen":0}}`, viewer.CodeNotFound, "not a placed compute task"},
		{c, 0, `{"t":"query","id":23,"q":"entity","entity":{"id":-1,"gen":0}}`, viewer.CodeBadMessage, "not a JSON object"},
		{c, 13, `{"t":"control","id":13,"op":"pause"}`, viewer.CodeUnavailable, "tick control needs rayos boot --debug"},
		{c, 14, `{"t":"frames","id":14}`, viewer.CodeBadMessage, `frames: no "on"`},
		{anon, 15, `{"t":"action","id":15,"op":"present","arg":"linux"}`, viewer.CodeUnauthorized, "actions need the viewer token"},
		{anon, 16, `{"t":"auth","id":16,"token":"0123456789abcdef0123456789abcdef"}`, viewer.CodeUnauthorized, "wrong token"},
	}
	for _, tc := range cases {
		tc.who.send(tc.send)
		e := tc.who.awaitError(tc.id)
		if e.Code != tc.code || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: error %s %q, want %s containing %q", tc.send, e.Code, e.Error, tc.code, tc.want)
		}
	}
	// A binary message is refused the same way.
	if err := c.conn.Write(c.ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if e := c.awaitError(0); !strings.Contains(e.Error, "binary messages are not accepted") {
		t.Errorf("binary message: %q", e.Error)
	}
	// Both connections still work.
	c.send(viewer.Inbound{T: viewer.InQuery, ID: 20, Q: viewer.QueryEntities, Kind: "Guest"})
	var reply struct {
		Data viewer.EntitiesReply
	}
	c.await("the entities reply", func(m msg) bool { return m.T == viewer.OutReply }).decode(t, &reply)
	if reply.Data.Total != 2 || len(reply.Data.Rows) != 2 || !strings.HasPrefix(reply.Data.Rows[0].Label, "guest ") {
		t.Errorf("guests after the bad messages: %+v", reply.Data)
	}
	// Several states later, nothing reached the world.
	first := anon.awaitState("a state", func(*viewer.State) bool { return true }).Tick
	st := anon.awaitState("ten ticks later", func(st *viewer.State) bool { return st.Tick > first+10 })
	for _, g := range st.Guests {
		if g.Presented {
			t.Errorf("guest %s was presented by a refused message", g.ID)
		}
	}
	if out := l.stdout.String(); strings.Contains(out, "RAYOS_HOST_EVENT_V0") {
		t.Errorf("a refused message reached the host bridge:\n%s", out)
	}
}

// A message longer than the read limit ends the connection with 1009.
func TestOversizedMessageClosesTheConnection(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	c := dial(t, h.srv, "")
	c.awaitType(viewer.OutHello)
	c.send(`{"t":"query","q":"entities","search":"` + strings.Repeat("x", viewer.MaxMessage) + `"}`)
	if code, _ := c.closeStatus(); code != websocket.StatusMessageTooBig {
		t.Errorf("closed with %d, want %d (message too big)", code, websocket.StatusMessageTooBig)
	}
}

// A client that keeps sending garbage is disconnected; so is one that
// keeps guessing the token.
func TestPersistentBadInputDisconnects(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	c := dial(t, h.srv, "")
	c.awaitType(viewer.OutHello)
	for range 40 {
		if err := c.conn.Write(c.ctx, websocket.MessageText, []byte("garbage")); err != nil {
			break // already closed
		}
	}
	if code, reason := c.closeStatus(); code != websocket.StatusPolicyViolation || reason != "32 malformed messages" {
		t.Errorf("garbage: closed with %d %q", code, reason)
	}
	g := dial(t, h.srv, "")
	g.awaitType(viewer.OutHello)
	for i := range 3 {
		g.send(viewer.Inbound{T: viewer.InAuth, Token: strings.Repeat(strconv.Itoa(i), 32)})
	}
	if code, reason := g.closeStatus(); code != websocket.StatusPolicyViolation || reason != "3 wrong tokens" {
		t.Errorf("token guessing: closed with %d %q", code, reason)
	}
}

// A client that never reads is dropped, and the tick never waits for it:
// the world goes on ticking on this goroutine, through the viewer's
// hooks, until the server has disconnected the client. (No timing is
// asserted: were the tick to wait for the client, this test would hang.)
func TestClientThatNeverReadsIsDroppedWhileTheWorldTicks(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{WriteTimeout: 200 * time.Millisecond, StateInterval: time.Millisecond, FrameInterval: time.Millisecond})
	// A tiny receive buffer, and no reading: the server's writes stall as
	// soon as its socket buffer is full.
	var stalledFD int
	small := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			stalledFD = int(fd)
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		})
	}}
	stalled, _, err := dialRaw(t, h.srv, "", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: small.DialContext}}})
	if err != nil {
		t.Fatal(err)
	}
	// A healthy client beside it keeps being served.
	healthy := dial(t, h.srv, "")
	healthy.awaitType(viewer.OutHello)
	ticks := 0
	deadline := time.Now().Add(patience)
	for dropped(t, h.srv) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled client was not dropped after %d ticks", ticks)
		}
		for range 100 {
			h.tick()
			ticks++
		}
	}
	before := h.w.Clock.Tick
	for range 10 {
		h.tick()
	}
	if h.w.Clock.Tick != before+10 {
		t.Fatalf("the world did not go on ticking after the drop")
	}
	st := healthy.awaitState("a state after the drop", func(st *viewer.State) bool { return st.Tick >= before })
	if st.Viewer.Clients != 1 {
		t.Errorf("%d clients after the drop, want 1 (the healthy one)", st.Viewer.Clients)
	}
	// Now reading, the stalled client finds its connection closed — once
	// it has read what the server had queued before closing. With the
	// 1 kB window it stalled with, that backlog trickles in a probe at a
	// time; a reader that came back would open its window.
	syscall.SetsockoptInt(stalledFD, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for {
		if _, _, err := stalled.conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the stalled client's connection is still open")
			}
			break
		}
	}
	t.Logf("dropped after %d ticks", ticks)
}

// dropped reads rayos_viewer_clients_dropped_total from /metrics.
func dropped(t *testing.T, srv *viewer.Server) int {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n := 0
	for _, m := range regexp.MustCompile(`(?m)^rayos_viewer_clients_dropped_total\{reason="fell-behind"\} (\d+)$`).FindAllSubmatch(body, -1) {
		v, _ := strconv.Atoi(string(m[1]))
		n += v
	}
	return n
}
