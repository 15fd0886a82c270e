package guests

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rayos/engine/world/atomicfile"
	"github.com/rayos/engine/world/marker"
)

// MaxControlLine bounds a control request; longer lines are refused.
const MaxControlLine = 4096

// The control socket's defaults (ControlOptions leaves a field zero to get
// them). docs/control.md explains each to users.
const (
	// DefaultControlOutstanding is how many of one client's requests may
	// wait for their ACK (or for their ACK to be written) before RayOS
	// stops reading that client's socket.
	DefaultControlOutstanding = 64
	// DefaultControlWriteTimeout is how long a client's writer may fail to
	// make progress before the client is disconnected as fallen behind.
	DefaultControlWriteTimeout = 5 * time.Second
	// DefaultControlCloseGrace is how long Close lets clients take their
	// last answers before it closes their connections regardless.
	DefaultControlCloseGrace = time.Second
)

// controlRequestQueue is the shared request channel's capacity. With every
// client capped at its outstanding requests, it fills only when more than
// controlRequestQueue/DefaultControlOutstanding clients pipeline at once;
// a request that finds it full is refused ("overloaded"), not waited for.
const controlRequestQueue = 4096

// controlNoticeBound caps the notices queued for one client and not yet
// written; a world that produces more for a client than it takes is
// answered by disconnecting that client, not by growing without bound.
const controlNoticeBound = 4 * DefaultControlOutstanding

// MaxControlClient is the highest number a control connection gets; the
// numbers above it are the runtime's, for journal requests that no
// connection waits for (their ACKs are never routed to a client).
const MaxControlClient = 1<<31 - 1

// ControlRequest is one line from a client, numbered for its answer.
type ControlRequest struct {
	// ID numbers the request across all clients; its ACK is routed by it.
	ID uint32
	// Client numbers the connection (1 … MaxControlClient), so that the world can tell
	// one client's requests from another's ("confirm" without an id
	// resolves only the same client's pending request).
	Client uint32
	Line   string
}

// ControlOptions tunes a control socket; the zero value is the defaults.
type ControlOptions struct {
	// MaxClients caps the clients connected at once; one more is told so
	// in one ACK line and closed. 0: DefaultControlClients().
	MaxClients int
	// MaxOutstanding caps one client's requests not yet answered and
	// written; at the cap RayOS stops reading that client. 0: 64.
	MaxOutstanding int
	// WriteTimeout is how long a write to a client may stall before the
	// client is disconnected. 0: 5 s.
	WriteTimeout time.Duration
	// CloseGrace bounds how long Close waits for clients to take their
	// last answers. 0: 1 s.
	CloseGrace time.Duration
	// WatchQueue caps the marker lines waiting for one watcher; one more
	// cuts the watcher off. 0: DefaultWatchQueue.
	WatchQueue int
	// Log receives the diagnostics (disconnects, refusals, accept
	// failures). nil: slog.Default().
	Log *slog.Logger
}

// DefaultControlClients is the client cap when none is given: half the
// soft limit on open files, so that idle clients alone cannot exhaust the
// process's descriptors, clamped to [16, 1024].
func DefaultControlClients() int {
	var lim syscall.Rlimit
	n := 1024
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur/2 < uint64(n) {
		n = int(lim.Cur / 2)
	}
	return max(n, 16)
}

func (o ControlOptions) withDefaults() ControlOptions {
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultControlClients()
	}
	if o.MaxOutstanding <= 0 {
		o.MaxOutstanding = DefaultControlOutstanding
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultControlWriteTimeout
	}
	if o.CloseGrace <= 0 {
		o.CloseGrace = DefaultControlCloseGrace
	}
	if o.WatchQueue <= 0 {
		o.WatchQueue = DefaultWatchQueue
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// ControlServer is the control socket: a unix socket (mode 0600) with a
// line protocol. Every request line goes to Requests for the world to
// handle; the world's ACK comes back through Reply to the client that
// asked. Lines that cannot be requests (empty, too long, not UTF-8 text)
// are answered here. Each client has its own reader and writer and its own
// bounded queue, so the world (Reply, Notify, Close) never waits on a
// socket and one client cannot hold up another.
type ControlServer struct {
	path     string
	ln       net.Listener
	file     os.FileInfo // the socket file we created, so Close removes only it
	o        ControlOptions
	requests chan ControlRequest
	done     chan struct{} // closed by Close: the accept loop's backoff ends
	wg       sync.WaitGroup

	mu      sync.Mutex
	waiting map[uint32]waitingRequest
	clients map[*controlClient]bool
	next    uint32 // the last request id given
	counted uint32 // the last client number given
	closed  bool

	acceptLog, refuseLog throttledLog
	// watchers counts the clients streaming markers, so that a marker
	// costs nothing more than this load while nobody watches.
	watchers atomic.Int64
}

// waitingRequest is a request the world has not answered yet: where its
// answer goes.
type waitingRequest struct {
	client *controlClient
	slot   *controlSlot
}

// ListenControl opens the control socket at path with the default options.
func ListenControl(path string) (*ControlServer, error) {
	return ListenControlWith(path, ControlOptions{})
}

// ListenControlWith opens the control socket at path. Only a stale socket
// left by a crash is replaced; a socket another process still serves, or
// anything that is not a socket, is an error and is left alone.
func ListenControlWith(path string, o ControlOptions) (*ControlServer, error) {
	if err := clearStaleSocket(path); err != nil {
		return nil, err
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
	// Close removes the file itself, and only if it is still ours.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	file, err := os.Lstat(path)
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		ln.Close()
		os.Remove(path)
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	s := serveControl(ln, path, o)
	s.file = file
	return s, nil
}

// clearStaleSocket makes path free for a new socket: nothing there, or a
// socket nobody accepts on (left by a crash), which it removes. Anything
// else at path is the user's, and RayOS does not delete it.
func clearStaleSocket(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := CheckControlPath(path); err != nil {
		return err
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another rayos (or another program) is serving it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: cannot tell whether it is stale: %w", path, err)
	}
	// Remove exactly the stale socket we looked at, not something that
	// took its place meanwhile.
	if now, err := os.Lstat(path); err != nil || !os.SameFile(now, info) {
		return fmt.Errorf("control socket %s: it changed while RayOS was checking it; try again", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

// CheckControlPath reports, without changing anything, why path cannot
// become the control socket: something other than a socket is there (a
// socket may be a stale one, replaced when the server starts). The
// runtime checks it before the boot writes anything.
func CheckControlPath(path string) error {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control socket %s: %w", path, err)
	case info.Mode()&os.ModeSocket == 0:
		return fmt.Errorf("control socket %s: it exists and is %s, not a socket; RayOS replaces only a stale socket of its own (remove it or choose another --control)", path, atomicfile.Kind(info.Mode()))
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another rayos (or another program) is serving it", path)
	}
	return nil
}

// serveControl starts serving the control protocol on ln; path is where it
// listens (for Path and for removing it on Close).
func serveControl(ln net.Listener, path string, o ControlOptions) *ControlServer {
	s := &ControlServer{
		path: path, ln: ln, o: o.withDefaults(),
		requests: make(chan ControlRequest, controlRequestQueue),
		done:     make(chan struct{}),
		waiting:  map[uint32]waitingRequest{},
		clients:  map[*controlClient]bool{},
	}
	s.acceptLog.every, s.refuseLog.every = 10*time.Second, 10*time.Second
	s.wg.Add(1)
	go s.accept()
	return s
}

// Path is where the socket listens.
func (s *ControlServer) Path() string { return s.path }

// MaxClients is the cap on clients connected at once.
func (s *ControlServer) MaxClients() int { return s.o.MaxClients }

// Requests delivers the request lines, in arrival order.
func (s *ControlServer) Requests() <-chan ControlRequest { return s.requests }

// accept admits clients until Close. A failed accept (out of file
// descriptors, most often) does not end it: it backs off, 5 ms doubling to
// 1 s, and tries again, so the socket comes back when descriptors do.
func (s *ControlServer) accept() {
	defer s.wg.Done()
	var delay time.Duration
	failures := 0
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			failures++
			delay = acceptDelay(delay)
			if ok, quiet := s.acceptLog.allow(time.Now()); ok {
				s.o.Log.Warn("control socket: accept failed; retrying", "path", s.path, "err", err, "retry_in", delay, "failures_not_logged", quiet)
			}
			select {
			case <-time.After(delay):
			case <-s.done:
				return
			}
			continue
		}
		if failures > 0 {
			s.o.Log.Info("control socket: accepting again", "path", s.path, "failed_accepts", failures)
			failures, delay = 0, 0
		}
		s.admit(conn)
	}
}

// acceptDelay is the wait after a failed accept, given the last one.
func acceptDelay(last time.Duration) time.Duration {
	if last == 0 {
		return 5 * time.Millisecond
	}
	return min(2*last, time.Second)
}

func (s *ControlServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// admit starts serving conn, or refuses it in one line when the server is
// at its client cap (or closing).
func (s *ControlServer) admit(conn net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	if len(s.clients) >= s.o.MaxClients {
		s.mu.Unlock()
		s.refuse(conn)
		return
	}
	s.counted = s.counted%MaxControlClient + 1 // 1 … MaxControlClient, wrapping
	c := &controlClient{s: s, conn: conn, number: s.counted}
	c.cond = sync.NewCond(&c.mu)
	s.clients[c] = true
	s.mu.Unlock()
	s.wg.Add(2)
	go c.read()
	go c.write()
}

// refuse tells a client over the cap why, and closes it. The line fits in
// a new socket's empty send buffer; the deadline only guards the accept
// loop against the impossible.
func (s *ControlServer) refuse(conn net.Conn) {
	line := marker.HostAck("?", false, fmt.Sprintf("too many control clients (limit %d); try again later", s.o.MaxClients)).String()
	conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	io.WriteString(conn, line+"\n")
	conn.Close()
	if ok, quiet := s.refuseLog.allow(time.Now()); ok {
		s.o.Log.Warn("control socket: client refused: too many clients", "path", s.path, "limit", s.o.MaxClients, "refusals_not_logged", quiet)
	}
}

// submit hands a request line to the world, or says why it cannot.
func (s *ControlServer) submit(c *controlClient, slot *controlSlot, line string) (refusal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "RayOS is shutting down; try again"
	}
	s.next++
	if s.next == 0 {
		s.next++ // 0 means "no request"
	}
	select {
	case s.requests <- ControlRequest{ID: s.next, Client: c.number, Line: line}:
		slot.id = s.next
		s.waiting[s.next] = waitingRequest{c, slot}
		return ""
	default:
		return "RayOS is overloaded; try again"
	}
}

// Notify queues a notice about request id (a line before its ACK, such as
// the policy asking for confirmation) for its client, if that client is
// still connected and the request not yet answered. It never blocks on the
// socket: the client's writer sends it, after the ACKs of the client's
// earlier requests.
func (s *ControlServer) Notify(id uint32, line string) {
	s.mu.Lock()
	wr, ok := s.waiting[id]
	s.mu.Unlock()
	if ok {
		wr.client.notice(wr.slot, line)
	}
}

// Reply queues the answer of request id for its client, if that client is
// still connected; a request is answered once, later replies are dropped.
// It never blocks on the socket: the client's writer sends it, in the
// order the client sent its requests.
func (s *ControlServer) Reply(id uint32, line string) {
	s.mu.Lock()
	wr, ok := s.waiting[id]
	delete(s.waiting, id)
	s.mu.Unlock()
	if ok {
		wr.client.answer(wr.slot, line)
	}
}

// forget drops a client that is gone, and its requests still waiting: the
// world's answers to them go nowhere.
func (s *ControlServer) forget(c *controlClient, unanswered []*controlSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, slot := range unanswered {
		if wr, ok := s.waiting[slot.id]; ok && wr.slot == slot {
			delete(s.waiting, slot.id)
		}
	}
	if s.clients[c] && c.watching.Load() {
		s.watchers.Add(-1)
	}
	delete(s.clients, c)
}

// Close stops accepting, answers every request still waiting with an err
// ACK, lets clients take their last answers for at most CloseGrace, closes
// every connection and removes the socket file. It returns in bounded time
// whatever the clients do.
func (s *ControlServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	waiting := s.waiting
	s.waiting = map[uint32]waitingRequest{}
	clients := make([]*controlClient, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	close(s.done)
	err := s.ln.Close()
	for _, wr := range waiting {
		wr.client.answer(wr.slot, marker.HostAck(wr.slot.op, false, "RayOS shut down before the request completed").String())
	}
	for _, c := range clients {
		c.stopReading()
	}
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(s.o.CloseGrace):
		for _, c := range clients {
			c.drop("RayOS is shutting down and the client did not take its last answers")
		}
		<-finished
	}
	if s.file != nil {
		if now, err := os.Lstat(s.path); err == nil && os.SameFile(now, s.file) {
			os.Remove(s.path)
		}
	}
	return err
}

// throttledLog lets a repeated diagnostic through at most once per every,
// counting the ones it held back.
type throttledLog struct {
	mu    sync.Mutex
	every time.Duration
	last  time.Time
	quiet int
}

// allow says whether to log now, and how many were held back since the
// last one logged.
func (t *throttledLog) allow(now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.last.IsZero() && now.Sub(t.last) < t.every {
		t.quiet++
		return false, 0
	}
	quiet := t.quiet
	t.last, t.quiet = now, 0
	return true, quiet
}
