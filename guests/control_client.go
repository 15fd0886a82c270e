package guests

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rayos/engine/world/marker"
)

// controlClient is one connection. Its reader turns lines into requests and
// stops reading while the client has MaxOutstanding requests unanswered or
// unwritten; its writer sends each request's notices and ACK in the order
// the requests came. Both wait on cond; everyone else only queues lines and
// signals, so nothing outside this client ever waits on its socket.
type controlClient struct {
	s      *ControlServer
	conn   net.Conn
	number uint32

	mu   sync.Mutex
	cond *sync.Cond // room for the reader, lines for the writer, or an end
	// slots are the client's requests, oldest first, from the moment they
	// are read until their ACK is written.
	slots    []*controlSlot
	notices  int  // notice lines queued and not yet taken by the writer
	readDone bool // no more requests will come (EOF, or RayOS stopped reading)
	stopping bool // Close: answer what is already read, then stop reading
	gone     bool // disconnected: nothing more is read, queued or written

	// A watcher (after a watch request) gets marker lines: those starting
	// with one of prefixes (all when empty), queued in stream and written
	// once every request it sent before has been answered and written.
	watching atomic.Bool
	prefixes []string
	stream   []string
}

// controlSlot is one request line's place in its client's order.
type controlSlot struct {
	id       uint32   // the world's request id (0 when answered here); guarded by the server's mu
	op       string   // the request's first word, for the ACKs RayOS gives itself; set before it is queued
	lines    []string // notices not yet taken by the writer
	ack      string
	answered bool
}

// read turns the client's lines into requests until EOF, an error, a
// disconnect or Close.
func (c *controlClient) read() {
	defer c.s.wg.Done()
	defer c.finishReading()
	r := bufio.NewReaderSize(c.conn, MaxControlLine+1)
	for c.waitForRoom() {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			c.queueAnswered(fmt.Sprintf("request longer than %d bytes", MaxControlLine))
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				c.readFailed(err)
				return
			}
			continue
		}
		// A last line without its newline before EOF is still a request; a
		// fragment cut off by an error or by Close is not.
		if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
			c.readFailed(err)
			return
		}
		if c.handle(strings.TrimRight(string(line), "\r\n")) {
			if err == nil {
				c.discard(r)
			} else {
				c.discard(strings.NewReader("")) // EOF right after watch: the watch ends
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// handle answers a line that cannot be a request at once (in its place in
// the order) and hands the others to the world. A watch request is the
// server's own: it says whether the connection became a stream.
func (c *controlClient) handle(text string) (watching bool) {
	switch {
	case strings.TrimSpace(text) == "":
		c.queueAnswered("empty request")
	case !isRequestText(text):
		c.queueAnswered("request has control characters or is not UTF-8 text")
	case requestOp(text) == "watch":
		prefixes, err := parseWatch(text)
		if err != nil {
			c.queue(&controlSlot{ack: marker.HostAck("watch", false, err.Error()).String(), answered: true})
			return false
		}
		// Subscribed before the answer is queued: a client that reads the
		// watch ACK has every marker emitted from then on coming.
		c.startWatching(prefixes)
		c.queue(&controlSlot{ack: watchAck(prefixes), answered: true})
		return true
	default:
		slot := c.queue(&controlSlot{op: requestOp(text)})
		if refusal := c.s.submit(c, slot, text); refusal != "" {
			c.answer(slot, marker.HostAck(slot.op, false, refusal).String())
		}
	}
	return false
}

// requestOp is a request's first word, which its ACK names when RayOS
// answers it without the world (refused while shutting down).
func requestOp(line string) string {
	op, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	return op
}

// isRequestText is true for a line of UTF-8 text without control
// characters (a tab is text).
func isRequestText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' })
}

// waitForRoom waits while the client is at its outstanding cap, and says
// whether to go on reading.
func (c *controlClient) waitForRoom() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.slots) >= c.s.o.MaxOutstanding && !c.gone && !c.stopping {
		c.cond.Wait()
	}
	return !c.gone
}

// readFailed ends reading. EOF is a half-close: the answers still go out.
// An error while RayOS closes or after a disconnect is expected; any other
// means the client is gone.
func (c *controlClient) readFailed(err error) {
	c.mu.Lock()
	expected := c.stopping || c.gone || errors.Is(err, io.EOF)
	c.mu.Unlock()
	if !expected && c.end() {
		c.s.o.Log.Debug("control client gone", "client", c.number, "err", err)
	}
}

func (c *controlClient) finishReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDone = true
	c.cond.Broadcast()
}

// queue appends slot to the client's order.
func (c *controlClient) queue(slot *controlSlot) *controlSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slots = append(c.slots, slot)
	c.cond.Broadcast()
	return slot
}

// queueAnswered takes a place in the order for a line the server refuses.
func (c *controlClient) queueAnswered(detail string) {
	c.queue(&controlSlot{ack: marker.HostAck("?", false, detail).String(), answered: true})
}

// answer sets a slot's ACK; the first answer counts.
func (c *controlClient) answer(slot *controlSlot, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone || slot.answered {
		return
	}
	slot.ack, slot.answered = line, true
	c.cond.Broadcast()
}

// notice queues a line to go before slot's ACK. A client whose unwritten
// notices pass controlNoticeBound is disconnected rather than queued for.
func (c *controlClient) notice(slot *controlSlot, line string) {
	c.mu.Lock()
	if c.gone || slot.answered {
		c.mu.Unlock()
		return
	}
	if c.notices >= controlNoticeBound {
		c.mu.Unlock()
		c.drop(fmt.Sprintf("fell behind: more than %d notices queued", controlNoticeBound))
		return
	}
	slot.lines = append(slot.lines, line)
	c.notices++
	c.cond.Broadcast()
	c.mu.Unlock()
}

// stopReading makes the reader answer what it already holds and stop: the
// client's ACKs still go out, and the writer ends once they have.
func (c *controlClient) stopReading() {
	c.mu.Lock()
	c.stopping = true
	c.cond.Broadcast()
	c.mu.Unlock()
	c.conn.SetReadDeadline(time.Now())
}

// write sends the client's lines in order until every request read has
// been answered and written, or the client is disconnected. A write that
// makes no progress for WriteTimeout disconnects the client.
func (c *controlClient) write() {
	defer c.s.wg.Done()
	var buf []byte
	for {
		lines, complete, ok := c.take()
		if !ok {
			break
		}
		buf = buf[:0]
		for _, l := range lines {
			buf = append(append(buf, l...), '\n')
		}
		c.conn.SetWriteDeadline(time.Now().Add(c.s.o.WriteTimeout))
		if _, err := c.conn.Write(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.drop(fmt.Sprintf("fell behind: its answers could not be written for %v", c.s.o.WriteTimeout))
			} else if c.end() {
				c.s.o.Log.Debug("control client gone", "client", c.number, "err", err)
			}
			return
		}
		c.written(complete)
	}
	if c.end() {
		c.s.o.Log.Debug("control client done", "client", c.number)
	}
}

// take waits for lines the writer may send: the notices of the oldest
// unwritten request, its ACK once answered, and so on through the first
// request still unanswered. complete is how many requests the lines finish.
// ok is false when the writer is done.
func (c *controlClient) take() (lines []string, complete int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.gone {
			return nil, 0, false
		}
		for _, slot := range c.slots {
			lines = append(lines, slot.lines...)
			c.notices -= len(slot.lines)
			slot.lines = nil
			if !slot.answered {
				break
			}
			lines = append(lines, slot.ack)
			complete++
		}
		if complete == len(c.slots) && len(c.stream) > 0 {
			// A watcher's stream starts after its last request's ACK.
			lines = append(lines, c.stream...)
			clear(c.stream)
			c.stream = c.stream[:0]
		}
		if len(lines) > 0 {
			return lines, complete, true
		}
		if c.readDone && len(c.slots) == 0 && (!c.watching.Load() || c.stopping) {
			return nil, 0, false
		}
		c.cond.Wait()
	}
}

// written retires the first n requests: their ACKs are out, which makes
// room for the reader.
func (c *controlClient) written(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.slots[:n])
	c.slots = c.slots[n:]
	c.cond.Broadcast()
}

// drop disconnects a client RayOS gives up on, saying why.
func (c *controlClient) drop(reason string) {
	c.mu.Lock()
	queued := len(c.slots)
	c.mu.Unlock()
	if c.end() {
		c.s.o.Log.Warn("control client disconnected", "client", c.number, "reason", reason, "requests_queued", queued)
	}
}

// end closes the connection and forgets the client's waiting requests.
// Only the first call does anything; it says whether it was the one.
func (c *controlClient) end() bool {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return false
	}
	c.gone = true
	var unanswered []*controlSlot
	for _, slot := range c.slots {
		if !slot.answered {
			unanswered = append(unanswered, slot)
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	c.conn.Close()
	c.s.forget(c, unanswered)
	return true
}
