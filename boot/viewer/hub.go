package viewer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/rayos/engine/systems/bridge"
	"github.com/rayos/engine/world/marker"
)

// Pools between the tick and the hub. The tick holds one publication and
// one frame buffer and swaps them for free ones only when the hub has
// returned some; the hub's input channel has room for every publication,
// so handing one over never waits.
const (
	pubPool   = 4
	framePool = 3
	// historySize is how many markers a client that connects gets.
	historySize = 1000
	// maxPendingMarkers and maxPendingAcks bound what the tick keeps for
	// the hub while the hub is behind; beyond them markers are counted as
	// missed, ACKs dropped (the page's action then times out).
	maxPendingMarkers = 8192
	maxPendingAcks    = 4096
)

// pub is one publication: what the tick hands the hub at once.
type pub struct {
	reset   bool // a new world: clients forget the old one
	markers []MarkerItem
	acks    []bridge.Ack
	// hasState and hasPlace say whether state and place were filled for
	// this publication.
	hasState, hasPlace bool
	state              State
	place              Placement
	frame              *frameBuf
}

func (p *pub) clear() {
	p.reset, p.hasState, p.hasPlace = false, false, false
	clear(p.markers) // drop the references to marker fields
	p.markers = p.markers[:0]
	p.acks = p.acks[:0]
	p.frame = nil
}

// encoded is a message encoded once for every client, with the version
// clients compare against the one they sent last.
type encoded struct {
	seq  uint64
	data []byte
}

// hub fans publications out to the clients. Its goroutine is the only
// one that encodes; the tick never waits for it, and it never waits for a
// client.
type hub struct {
	s     *Server
	in    chan *pub
	free  chan *pub
	ffree chan *frameBuf
	frame frameStore

	state, placement atomic.Pointer[encoded]
	// admitted counts the clients connected (or connecting).
	admitted atomic.Int64
	// deferred says the tick side kept a publication (or frame tiles)
	// because the pools were empty.
	deferred atomic.Bool
	// forceState asks the tick for a state publication now (the pace
	// changed).
	forceState atomic.Bool

	mu        sync.Mutex
	clients   map[*client]struct{}
	byNumber  map[uint32]*client
	history   []MarkerItem
	markerSeq uint64
	stateSeq  uint64
	placeSeq  uint64
	// Measured tick rate.
	rateTick uint64
	rateAt   time.Time
	rate     float64
}

func newHub(s *Server) *hub {
	h := &hub{
		s: s, in: make(chan *pub, pubPool), free: make(chan *pub, pubPool), ffree: make(chan *frameBuf, framePool),
		clients: map[*client]struct{}{}, byNumber: map[uint32]*client{},
	}
	for range pubPool {
		h.free <- &pub{}
	}
	for range framePool {
		h.ffree <- &frameBuf{}
	}
	return h
}

// run applies publications until the server closes.
func (h *hub) run() {
	for {
		select {
		case <-h.s.closed:
			return
		case p := <-h.in:
			h.apply(p)
			p.clear()
			h.free <- p
			if h.deferred.Swap(false) {
				h.s.poke() // the tick side kept a publication: it may hand it over now
			}
		}
	}
}

// admit counts a new client in, unless the limit is reached.
func (h *hub) admit() bool {
	if h.admitted.Add(1) > int64(h.s.cfg.MaxClients) {
		h.admitted.Add(-1)
		return false
	}
	h.s.met.clients.Set(float64(h.admitted.Load()))
	return true
}

func (h *hub) release() {
	h.s.met.clients.Set(float64(h.admitted.Add(-1)))
}

// register adds a client and sends it the marker history; the writer
// catches up with the state, placement and frame by itself. (No fresh
// publication is asked for: connecting and disconnecting in a loop must
// not make the tick fill summaries. The latest one is current enough: a
// world runs on and publishes within StateInterval, and a paused one
// published when it paused.)
func (h *hub) register(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	h.byNumber[c.number] = c
	if len(h.history) > 0 {
		c.enqueue(mustJSON(MarkersMsg{T: OutMarkers, Items: h.history, History: true}))
	}
	c.poke()
}

func (h *hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	delete(h.byNumber, c.number)
}

// closeAll drops every client (the server is closing).
func (h *hub) closeAll(why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.drop(websocket.StatusGoingAway, why)
	}
}

// broadcast queues an event for every client (under h.mu).
func (h *hub) broadcast(msg []byte) {
	for c := range h.clients {
		c.enqueue(msg)
	}
}

// apply encodes one publication and hands it to the clients.
func (h *hub) apply(p *pub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p.reset {
		h.history = h.history[:0]
		h.frame.reset()
		h.rateAt = time.Time{}
		h.broadcast(mustJSON(struct {
			T string `json:"t"`
		}{OutReset}))
	}
	if len(p.markers) > 0 {
		for i := range p.markers {
			h.markerSeq++
			p.markers[i].Seq = h.markerSeq
			h.s.met.marker(p.markers[i].Kind)
		}
		if over := len(h.history) + len(p.markers) - historySize; over > 0 {
			n := copy(h.history, h.history[min(over, len(h.history)):])
			h.history = h.history[:n]
		}
		h.history = append(h.history, p.markers[max(0, len(p.markers)-historySize):]...)
		h.broadcast(mustJSON(MarkersMsg{T: OutMarkers, Items: p.markers}))
	}
	for _, a := range p.acks {
		h.route(a)
	}
	if p.frame != nil {
		h.frame.merge(p.frame)
		p.frame.clear()
		h.ffree <- p.frame
	}
	if p.hasState {
		p.state.emptyNotNull()
		p.state.Frame.Version = h.frame.version()
		h.measureRate(p.state.Tick)
		p.state.Rate = h.rate
		if p.state.Paused || p.state.Ended {
			p.state.Rate, h.rateAt = 0, time.Time{} // measured afresh when it runs again
		}
		p.state.Viewer.Clients = len(h.clients)
		h.stateSeq++
		h.state.Store(&encoded{seq: h.stateSeq, data: mustJSON(&p.state)})
	}
	if p.hasPlace {
		p.place.Devices, p.place.Tasks = nonNil(p.place.Devices), nonNil(p.place.Tasks)
		h.placeSeq++
		h.placement.Store(&encoded{seq: h.placeSeq, data: mustJSON(&p.place)})
	}
	if p.hasState || p.hasPlace || p.frame != nil {
		for c := range h.clients {
			c.poke()
		}
	}
}

// measureRate keeps the ticks per second over the last half second or
// more.
func (h *hub) measureRate(tick uint64) {
	now := time.Now()
	switch {
	case h.rateAt.IsZero() || tick < h.rateTick:
		h.rateAt, h.rateTick = now, tick
	case now.Sub(h.rateAt) >= 500*time.Millisecond:
		h.rate = float64(tick-h.rateTick) / now.Sub(h.rateAt).Seconds()
		h.rateAt, h.rateTick = now, tick
	}
}

// route sends an ACK (or a notice) to the client whose action it
// answers, if it is still connected.
func (h *hub) route(a bridge.Ack) {
	c := h.byNumber[a.Client]
	if c == nil {
		return
	}
	id, ok := c.answered(uint32(a.Request), a.Notice)
	if !ok {
		return
	}
	msg := AckMsg{T: OutAck, ID: id, Request: uint32(a.Request), Notice: a.Notice, Line: a.Line}
	if m, err := marker.Parse(a.Line); err == nil && m.Kind == marker.KindHostAck {
		msg.OK = m.Fields[1] == "ok"
	}
	c.enqueue(mustJSON(msg))
}

// nonNil makes an empty list encode as [] rather than null: the page
// iterates lists without checking for null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (st *State) emptyNotNull() {
	st.Kinds, st.Systems, st.Guests, st.Pending = nonNil(st.Kinds), nonNil(st.Systems), nonNil(st.Guests), nonNil(st.Pending)
	st.Surfaces, st.Rays = nonNil(st.Surfaces), nonNil(st.Rays)
	for i := range st.Guests {
		st.Guests[i].Decisions = nonNil(st.Guests[i].Decisions)
	}
}
