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
	"syscall"
	"time"

	"github.com/rayos/engine/world/marker"
)

// MaxControlLine bounds a control request; longer lines are refused.
const MaxControlLine = 4096

// ControlRequest is one line from a client, numbered for its answer.
type ControlRequest struct {
	// ID numbers the request across all clients; its ACK is routed by it.
	ID uint32
	// Client numbers the connection (from 1), so that the world can tell
	// one client's requests from another's ("confirm" without an id
	// resolves only the same client's pending request).
	Client uint32
	Line   string
}

// ControlServer is the control socket: a unix socket (mode 0600) with a
// line protocol. Every request line goes to Requests for the world to
// handle; the world's ACK comes back through Reply to the client that
// asked. Lines that cannot be requests (too long, not UTF-8 text) are
// answered here at once. Many clients may be connected; each waits for
// its own answers.
type ControlServer struct {
	path     string
	ln       net.Listener
	requests chan ControlRequest
	mu       sync.Mutex
	waiting  map[uint32]*controlConn
	conns    map[*controlConn]bool
	next     uint32
	clients  uint32
	closed   bool
	wg       sync.WaitGroup
}

type controlConn struct {
	c      net.Conn
	client uint32
	mu     sync.Mutex
}

func (cc *controlConn) send(line string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(cc.c, line+"\n")
}

// ListenControl opens the control socket at path. A stale socket file left
// by a crash is replaced; one another process still serves is an error.
func ListenControl(path string) (*ControlServer, error) {
	if _, err := os.Stat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another rayos is serving it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: %w", path, err)
		}
	}
	// Create the socket owner-only from the start, not chmod it after a
	// window in which anyone could connect. Nothing else creates files
	// while the runtime opens its socket, so the process-wide umask is safe.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	s := &ControlServer{path: path, ln: ln, requests: make(chan ControlRequest, 4096), waiting: map[uint32]*controlConn{}, conns: map[*controlConn]bool{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Path is where the socket listens.
func (s *ControlServer) Path() string { return s.path }

// Requests delivers the request lines, in arrival order.
func (s *ControlServer) Requests() <-chan ControlRequest { return s.requests }

func (s *ControlServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(&controlConn{c: c})
	}
}

func (s *ControlServer) serve(cc *controlConn) {
	defer s.wg.Done()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cc.c.Close()
		return
	}
	s.clients++
	cc.client = s.clients
	s.conns[cc] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, cc)
		s.mu.Unlock()
		cc.c.Close()
	}()
	r := bufio.NewReaderSize(cc.c, MaxControlLine+1)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			cc.send(marker.HostAck("?", false, fmt.Sprintf("request longer than %d bytes", MaxControlLine)).String())
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return
			}
			continue
		}
		if err != nil && len(line) == 0 {
			return
		}
		text := strings.TrimRight(string(line), "\r\n")
		if strings.TrimSpace(text) == "" {
			if err != nil {
				return
			}
			continue
		}
		if strings.ContainsFunc(text, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f || r == '\uFFFD' }) {
			cc.send(marker.HostAck("?", false, "request has control characters or is not UTF-8 text").String())
		} else if !s.submit(cc, text) {
			cc.send(marker.HostAck("?", false, "RayOS is shutting down or overloaded; try again").String())
		}
		if err != nil {
			return
		}
	}
}

func (s *ControlServer) submit(cc *controlConn, line string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.next++
	if s.next == 0 {
		s.next++ // 0 means "no request"
	}
	id := s.next
	select {
	case s.requests <- ControlRequest{ID: id, Client: cc.client, Line: line}:
		s.waiting[id] = cc
		return true
	default:
		return false
	}
}

// Notify sends a notice about request id (a line before its ACK, such as
// the policy asking for confirmation) to its client, if still connected.
func (s *ControlServer) Notify(id uint32, line string) {
	s.mu.Lock()
	cc := s.waiting[id]
	s.mu.Unlock()
	if cc != nil {
		cc.send(line)
	}
}

// Reply sends the answer of request id to its client, if still connected.
func (s *ControlServer) Reply(id uint32, line string) {
	s.mu.Lock()
	cc := s.waiting[id]
	delete(s.waiting, id)
	s.mu.Unlock()
	if cc != nil {
		cc.send(line)
	}
}

// Close stops accepting, answers every request still waiting with an err
// ACK, and removes the socket file.
func (s *ControlServer) Close() error {
	s.mu.Lock()
	s.closed = true
	waiting, conns := s.waiting, s.conns
	s.waiting, s.conns = map[uint32]*controlConn{}, map[*controlConn]bool{}
	s.mu.Unlock()
	err := s.ln.Close()
	for _, cc := range waiting {
		cc.send(marker.HostAck("?", false, "RayOS shut down before the request completed").String())
	}
	for cc := range conns {
		cc.c.Close()
	}
	s.wg.Wait()
	os.Remove(s.path)
	return err
}
