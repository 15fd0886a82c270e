package viewer

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/guests"
)

// Per-client limits.
const (
	// EventQueue is how many events (markers, ACKs, answers) may wait to
	// be written to one client; a client that lets it fill is dropped.
	EventQueue = 256
	// MaxWaiting is how many of one client's actions may wait for their
	// ACK at once.
	MaxWaiting = 16
	// maxBadMessages is how many malformed messages a client may send
	// before it is disconnected; maxWrongTokens the same for wrong tokens.
	maxBadMessages = 32
	maxWrongTokens = 3
)

// client is one WebSocket connection. The reader (the HTTP handler's
// goroutine) handles what the page sends; the writer sends events in
// order, then catches up with the latest state, placement map and frame.
type client struct {
	s      *Server
	conn   *websocket.Conn
	number uint32
	remote string

	authorized atomic.Bool
	frames     atomic.Bool

	events chan []byte
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	// why is set once, by whoever drops the client first.
	why      atomic.Pointer[string]
	closed   chan struct{} // closed once drop has closed the connection
	mu       sync.Mutex
	waiting  map[uint32]uint32 // request id → the page's action id
	bad      int
	wrongTok int
	// inputRate is the client's budget of inputs, buttons the pointer
	// buttons it last sent (reader only).
	inputRate rate
	buttons   uint32
}

func newClient(s *Server, conn *websocket.Conn, authorized bool, remote string) *client {
	n := s.nextClient.Add(1) - 1
	c := &client{
		s: s, conn: conn, remote: remote,
		number:  FirstClient + n%(LastClient-FirstClient+1),
		events:  make(chan []byte, EventQueue),
		wake:    make(chan struct{}, 1),
		waiting: map[uint32]uint32{},
		closed:  make(chan struct{}),
	}
	c.inputRate.per = float64(s.cfg.InputRate)
	c.authorized.Store(authorized)
	return c
}

// run serves the client until it leaves or is dropped.
func (c *client) run(parent context.Context) {
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	stop := context.AfterFunc(parent, c.cancel)
	defer stop()
	c.conn.SetReadLimit(MaxMessage)
	c.enqueue(mustJSON(c.hello()))
	c.s.hub.register(c)
	defer c.s.hub.unregister(c)
	c.setFrames(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.write()
	}()
	c.read()
	c.cancel()
	<-done
	if why := c.why.Load(); why != nil {
		<-c.closed
		c.s.warn("viewer client disconnected", "client", c.number, "remote", c.remote, "reason", *why)
	} else {
		c.conn.CloseNow()
		c.s.log.Debug("viewer client gone", "client", c.number, "remote", c.remote)
	}
}

// truncate keeps a close reason within the 123 bytes a close frame holds.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (c *client) hello() Hello {
	return Hello{
		T: OutHello, Mode: c.s.mode, Version: c.s.cfg.Version, Client: c.number,
		Authorized: c.authorized.Load(), Remote: c.s.cfg.AllowRemote,
		Control: c.s.pace.controllable, Seek: c.s.mode == ModeJournal, Actions: c.s.mode == ModeLive,
		Inputs:     c.s.mode == ModeLive && c.authorized.Load(),
		MaxMessage: MaxMessage, TileSize: tileSize,
	}
}

// drop disconnects the client with a reason it is told in the close
// frame. It never blocks: it is called from the hub and the tick, so the
// close handshake runs on a goroutine of its own (a stalled client's takes
// until its write times out).
func (c *client) drop(code websocket.StatusCode, why string) {
	if !c.why.CompareAndSwap(nil, &why) {
		return
	}
	c.s.met.droppedBy[dropLabel(code)].Inc()
	go func() {
		defer close(c.closed)
		c.conn.Close(code, truncate(why, 120))
		c.cancel()
	}()
}

func dropLabel(code websocket.StatusCode) string {
	switch code {
	case websocket.StatusGoingAway:
		return "shutdown"
	case websocket.StatusPolicyViolation, websocket.StatusMessageTooBig:
		return "bad-input"
	default:
		return "fell-behind"
	}
}

// enqueue queues an event for the writer; a client whose queue is full
// is dropped rather than waited for.
func (c *client) enqueue(msg []byte) bool {
	select {
	case c.events <- msg:
		c.poke()
		return true
	default:
		c.drop(websocket.StatusTryAgainLater, fmt.Sprintf("fell behind: %d messages waiting to be read", EventQueue))
		return false
	}
}

// poke wakes the writer.
func (c *client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// setFrames turns the client's frame stream on or off; the writer sends
// the whole frame when it comes back on.
func (c *client) setFrames(on bool) {
	if c.frames.Swap(on) != on {
		c.poke()
	}
}

// write sends events as they come, then the latest frame, state and
// placement map the client has not seen. A write that takes longer than
// WriteTimeout drops the client: it is not reading.
func (c *client) write() {
	var stateSeq, placeSeq, frameSeq uint64
	send := func(typ websocket.MessageType, msg []byte) bool {
		if c.why.Load() != nil {
			// Dropped: the close handshake needs the connection's writer,
			// and a writer that went on sending would starve it (the
			// client would be told nothing and never be closed).
			return false
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.WriteTimeout)
		defer cancel()
		if err := c.conn.Write(ctx, typ, msg); err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				c.drop(websocket.StatusTryAgainLater, fmt.Sprintf("stalled: a message could not be written for %s", c.s.cfg.WriteTimeout))
			}
			c.cancel()
			return false
		}
		return true
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		for drained := false; !drained; {
			select {
			case msg := <-c.events:
				if !send(websocket.MessageText, msg) {
					return
				}
			default:
				drained = true
			}
		}
		// The frame before the state: a state names the frame version it
		// describes, which the client then (almost always) already has.
		if c.frames.Load() {
			if msg, to := c.s.hub.frame.delta(frameSeq); msg != nil {
				if !send(websocket.MessageBinary, msg) {
					return
				}
				c.s.met.frameBytes.Add(float64(len(msg)))
				c.s.met.frames.Inc()
				frameSeq = to
			}
		} else {
			frameSeq = 0 // a client that turns frames back on gets the whole frame
		}
		if st := c.s.hub.state.Load(); st != nil && st.seq != stateSeq {
			if !send(websocket.MessageText, st.data) {
				return
			}
			stateSeq = st.seq
		}
		if pl := c.s.hub.placement.Load(); pl != nil && pl.seq != placeSeq {
			if !send(websocket.MessageText, pl.data) {
				return
			}
			placeSeq = pl.seq
		}
	}
}

// read handles the page's messages until the connection ends.
func (c *client) read() {
	for {
		typ, data, err := c.conn.Read(c.ctx)
		if err != nil {
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce):
			case errors.Is(err, websocket.ErrMessageTooBig):
				c.drop(websocket.StatusMessageTooBig, fmt.Sprintf("message longer than %d bytes", MaxMessage))
			}
			return
		}
		if typ != websocket.MessageText {
			c.refuse(0, CodeBadMessage, errors.New("binary messages are not accepted; send JSON text"))
			continue
		}
		m, err := ParseInbound(data)
		if err != nil {
			var id uint32
			if m != nil {
				id = m.ID
			}
			c.refuse(id, CodeBadMessage, err)
			continue
		}
		c.handle(m)
	}
}

// refuse answers a message with an error; too many malformed ones end
// the connection.
func (c *client) refuse(id uint32, code string, err error) {
	c.enqueue(mustJSON(ErrorMsg{T: OutError, ID: id, Code: code, Error: err.Error()}))
	if code == CodeBadMessage {
		c.s.met.badMessages.Inc()
		if c.bad++; c.bad >= maxBadMessages {
			c.drop(websocket.StatusPolicyViolation, fmt.Sprintf("%d malformed messages", c.bad))
		}
	}
}

func (c *client) handle(m *Inbound) {
	switch m.T {
	case InAuth:
		if subtle.ConstantTimeCompare([]byte(m.Token), []byte(c.s.token)) != 1 {
			c.refuse(m.ID, CodeUnauthorized, errors.New("wrong token"))
			if c.wrongTok++; c.wrongTok >= maxWrongTokens {
				c.drop(websocket.StatusPolicyViolation, fmt.Sprintf("%d wrong tokens", c.wrongTok))
			}
			return
		}
		c.authorized.Store(true)
		c.enqueue(mustJSON(c.hello()))
	case InFrames:
		if m.On == nil {
			c.refuse(m.ID, CodeBadMessage, errors.New(`frames: no "on" (true or false)`))
			return
		}
		c.setFrames(*m.On)
	case InAction:
		c.action(m)
	case InQuery:
		if !c.s.attached.Load() {
			c.refuse(m.ID, CodeUnavailable, errors.New("no world to query: the run has not started or has ended"))
			return
		}
		select {
		case c.s.queries <- &query{c: c, m: m}:
			c.s.poke()
		default:
			c.refuse(m.ID, CodeBusy, fmt.Errorf("%d queries already wait for the tick; try again", queryQueue))
		}
	case InControl:
		c.control(m)
	case InInput:
		c.input(m)
	}
}

// input queues a key or pointer input from the page for the next tick,
// as an input of the device numbered like the client. It is refused
// without the token, outside a live world, outside the frame and over
// the client's rate; a client that keeps sending far over its rate is
// disconnected.
func (c *client) input(m *Inbound) {
	switch {
	case !c.authorized.Load():
		c.refuse(m.ID, CodeUnauthorized, errors.New("inputs need the viewer token: open the URL RayOS printed (with ?token=), or send {\"t\":\"auth\",\"token\":…}"))
		return
	case c.s.mode != ModeLive:
		c.refuse(m.ID, CodeUnavailable, fmt.Errorf("inputs need a running RayOS; this is rayos view of a %s", c.s.mode))
		return
	case !c.s.attached.Load():
		c.refuse(m.ID, CodeUnavailable, errors.New("no world to send inputs to: the run has not started or has ended"))
		return
	}
	in, err := toInput(m, c.number, int(c.s.frameW.Load()), int(c.s.frameH.Load()))
	if err != nil {
		c.refuse(m.ID, CodeBadMessage, err)
		return
	}
	if !c.inputRate.allow(c.s.now()) {
		per := c.s.cfg.InputRate
		switch n := c.inputRate.refused; {
		case n >= 2*per:
			c.drop(websocket.StatusPolicyViolation, fmt.Sprintf("input flood: %d inputs over the limit of %d a second", n, per))
		case n == 1:
			// Once per burst: answering each one would fill the
			// client's own event queue.
			c.refuse(m.ID, CodeBusy, fmt.Errorf("more than %d inputs a second: inputs are refused until the rate falls (%d in a row disconnects)", per, 2*per))
		}
		c.s.met.refused.WithLabelValues("input-rate").Inc()
		return
	}
	move := in.Kind == components.InputPointer && in.Buttons == c.buttons
	if err := c.s.inputs.add(in, move); err != nil {
		c.refuse(m.ID, CodeBusy, err)
		return
	}
	if in.Kind == components.InputPointer {
		c.buttons = in.Buttons
	}
}

// action sends one of the page's actions into the world as a control
// request: the host bridge, the policy gate and the ACKs are the same as
// for `rayos ctl`.
func (c *client) action(m *Inbound) {
	switch {
	case !c.authorized.Load():
		c.refuse(m.ID, CodeUnauthorized, errors.New("actions need the viewer token: open the URL RayOS printed (with ?token=), or send {\"t\":\"auth\",\"token\":…}"))
		return
	case c.s.mode != ModeLive:
		c.refuse(m.ID, CodeUnavailable, fmt.Errorf("actions need a running RayOS; this is rayos view of a %s", c.s.mode))
		return
	}
	id := c.s.nextRequest.Add(1)
	c.mu.Lock()
	if len(c.waiting) >= MaxWaiting {
		c.mu.Unlock()
		c.refuse(m.ID, CodeBusy, fmt.Errorf("%d actions already wait for their ACK", MaxWaiting))
		return
	}
	c.waiting[id] = m.ID
	c.mu.Unlock()
	req := guests.ControlRequest{ID: id, Client: c.number, Line: m.Op + " " + m.Arg}
	select {
	case c.s.requests <- req:
		c.s.poke()
	default:
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		c.refuse(m.ID, CodeBusy, errors.New("RayOS is overloaded; try again"))
	}
}

// answered finds the page's id of a request and, for a final answer,
// forgets it.
func (c *client) answered(request uint32, notice bool) (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.waiting[request]
	if ok && !notice {
		delete(c.waiting, request)
	}
	return id, ok
}

// control pauses, resumes, steps or seeks the tick.
func (c *client) control(m *Inbound) {
	switch {
	case !c.authorized.Load():
		c.refuse(m.ID, CodeUnauthorized, errors.New("tick control needs the viewer token"))
		return
	case c.s.mode == ModeSnapshot:
		c.refuse(m.ID, CodeUnavailable, errors.New("a snapshot does not tick: nothing to pause, step or seek"))
		return
	case !c.s.pace.controllable:
		c.refuse(m.ID, CodeUnavailable, fmt.Errorf("tick control needs rayos boot %s", FlagDebug))
		return
	}
	if err := c.s.pace.apply(m, c.s.mode == ModeJournal); err != nil {
		c.refuse(m.ID, CodeBadMessage, err)
		return
	}
	c.s.poke()
	c.s.hub.forceState.Store(true)
}

// mustJSON encodes a message the package builds itself.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("viewer: encoding %T: %v", v, err))
	}
	return b
}
