package guests_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/guests"
)

// hangCeiling stops a test that would otherwise wait forever; it is never
// a timing assertion.
const hangCeiling = 60 * time.Second

// logRecords is a slog handler that keeps what the server logs.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// matching returns the records at level whose message contains msg.
func (l *logRecords) matching(level slog.Level, msg string) []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []slog.Record
	for _, r := range l.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			out = append(out, r)
		}
	}
	return out
}

// waitFor waits for a record at level whose message contains msg.
func (l *logRecords) waitFor(t *testing.T, level slog.Level, msg string) slog.Record {
	t.Helper()
	for deadline := time.Now().Add(hangCeiling); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if recs := l.matching(level, msg); len(recs) > 0 {
			return recs[0]
		}
	}
	t.Fatalf("no %v log %q", level, msg)
	return slog.Record{}
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// listen opens a control socket in a fresh folder and closes it after the
// test.
func listen(t *testing.T, o guests.ControlOptions) (*guests.ControlServer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := guests.ListenControlWith(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// client is one test connection with a line reader.
type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, path string) *client {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(hangCeiling))
	return &client{c, bufio.NewReader(c)}
}

func (c *client) line(t *testing.T) string {
	t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading an answer: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\n")
}

// request takes the next request off the server, or fails the test.
func request(t *testing.T, s *guests.ControlServer) guests.ControlRequest {
	t.Helper()
	select {
	case req := <-s.Requests():
		return req
	case <-time.After(hangCeiling):
		t.Fatal("no request reached the world")
		return guests.ControlRequest{}
	}
}

// stall connects a client that shrinks its receive buffer, pipelines n
// status lines and never reads an answer.
func stall(t *testing.T, path string, n int) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	raw.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	if serr != nil {
		t.Fatal(serr)
	}
	go c.Write([]byte(strings.Repeat("status\n", n))) // blocks once RayOS stops reading; ends when c closes
	return c
}

// bigAck is an ACK long enough that a client that does not read fills its
// socket after a few hundred.
var bigAck = "RAYOS_HOST_ACK:status:ok:" + strings.Repeat("x", 1000)

// A client that pipelines 20,000 requests and never reads must not slow the
// world: the tick loop answers it (Reply) without waiting on its socket,
// RayOS stops reading it at its outstanding cap, and a healthy client keeps
// getting answers. Close then finishes although the stalled client never
// reads.
func TestControlStalledClientCannotHoldUpTheWorld(t *testing.T) {
	logs := &logRecords{}
	s, path := listen(t, guests.ControlOptions{WriteTimeout: time.Hour, Log: slog.New(logs)})
	stalled := stall(t, path, 20000)
	first := request(t, s) // the stalled client is client 1
	healthy := dial(t, path)

	// The fake tick loop: it holds the stalled client's requests and
	// answers them whenever a healthy request comes, so that its Reply
	// calls for the stalled client land while that client's socket is full.
	var stalledSeen, stalledAnswered atomic.Int64
	stalledSeen.Add(1)
	stop, tickDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(tickDone)
		held := []uint32{first.ID}
		for {
			select {
			case <-stop:
				return
			case req := <-s.Requests():
				if req.Client == first.Client {
					stalledSeen.Add(1)
					held = append(held, req.ID)
					continue
				}
				for _, id := range held {
					s.Reply(id, bigAck)
					stalledAnswered.Add(1)
				}
				held = held[:0]
				s.Reply(req.ID, "RAYOS_HOST_ACK:status:ok:"+req.Line)
			}
		}
	}()
	const rounds = 2000
	for i := range rounds {
		fmt.Fprintf(healthy, "status %d\n", i)
		if got, want := healthy.line(t), fmt.Sprintf("RAYOS_HOST_ACK:status:ok:status %d", i); got != want {
			t.Fatalf("healthy client, round %d: %q, want %q", i, got, want)
		}
	}
	close(stop)
	<-tickDone
	seen := stalledSeen.Load()
	if seen >= 20000 {
		t.Errorf("the world got all %d requests of a client that never reads: nothing held it back", seen)
	}
	if stalledAnswered.Load() == 0 {
		t.Error("the fake tick never answered the stalled client: the test proves nothing")
	}
	t.Logf("healthy client: %d round trips; stalled client: %d requests reached the world, %d answered", rounds, seen, stalledAnswered.Load())

	// Close answers and ends although the stalled client never reads.
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	r := logs.waitFor(t, slog.LevelWarn, "control client disconnected")
	if attr(r, "client") != "1" || !strings.Contains(attr(r, "reason"), "did not take its last answers") {
		t.Errorf("close log: %v", r)
	}
	_ = stalled
}

// A client whose answers cannot be written for WriteTimeout is disconnected,
// with the reason logged; the others go on.
func TestControlClientThatFallsBehindIsDisconnected(t *testing.T) {
	logs := &logRecords{}
	s, path := listen(t, guests.ControlOptions{WriteTimeout: 200 * time.Millisecond, Log: slog.New(logs)})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case req := <-s.Requests():
				if req.Client == 1 {
					s.Reply(req.ID, bigAck)
				} else {
					s.Reply(req.ID, "RAYOS_HOST_ACK:status:ok:fine")
				}
			}
		}
	}()
	stalled := stall(t, path, 20000)
	r := logs.waitFor(t, slog.LevelWarn, "control client disconnected")
	if attr(r, "client") != "1" || !strings.Contains(attr(r, "reason"), "fell behind") {
		t.Errorf("disconnect log: %v", r)
	}
	healthy := dial(t, path)
	fmt.Fprintln(healthy, "status")
	if got := healthy.line(t); got != "RAYOS_HOST_ACK:status:ok:fine" {
		t.Errorf("healthy client after the disconnect: %q", got)
	}
	// The stalled client finds its connection closed after what was written.
	stalled.SetReadDeadline(time.Now().Add(hangCeiling))
	sc := bufio.NewScanner(stalled)
	sc.Buffer(nil, 64*1024)
	acks := 0
	for sc.Scan() {
		acks++
	}
	if err := sc.Err(); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("stalled client: %v after %d answers; want the connection closed", err, acks)
	}
	if acks >= 20000 {
		t.Errorf("stalled client got all %d answers; it should have been cut off", acks)
	}
}

// Every line gets exactly one answer, in the order the lines came: notices
// and the ACK of a request wait for the ACK of the one before, and lines
// the server answers itself take their place in that order.
func TestControlAnswersComeInRequestOrder(t *testing.T) {
	s, path := listen(t, guests.ControlOptions{})
	c := dial(t, path)
	io.WriteString(c, "status 1\n\n   \nbad\x01line\nstatus 2\nstatus 3\n")
	r1, r2, r3 := request(t, s), request(t, s), request(t, s)
	if r1.Line != "status 1" || r2.Line != "status 2" || r3.Line != "status 3" {
		t.Fatalf("requests %q %q %q", r1.Line, r2.Line, r3.Line)
	}
	// The world answers the last first, with notices before some ACKs.
	s.Notify(r3.ID, "RAYOS_AUDIT:note:3")
	s.Reply(r3.ID, "RAYOS_HOST_ACK:status:ok:3")
	s.Notify(r2.ID, "RAYOS_AUDIT:note:2")
	s.Reply(r2.ID, "RAYOS_HOST_ACK:status:ok:2")
	s.Reply(r2.ID, "RAYOS_HOST_ACK:status:ok:2 again") // a second answer is dropped
	s.Notify(r1.ID, "RAYOS_AUDIT:note:1")
	s.Reply(r1.ID, "RAYOS_HOST_ACK:status:ok:1")
	s.Notify(r1.ID, "RAYOS_AUDIT:note:1 late") // after its ACK: dropped
	want := []string{
		"RAYOS_AUDIT:note:1",
		"RAYOS_HOST_ACK:status:ok:1",
		"RAYOS_HOST_ACK:?:err:empty request",
		"RAYOS_HOST_ACK:?:err:empty request",
		"RAYOS_HOST_ACK:?:err:request has control characters or is not UTF-8 text",
		"RAYOS_AUDIT:note:2",
		"RAYOS_HOST_ACK:status:ok:2",
		"RAYOS_AUDIT:note:3",
		"RAYOS_HOST_ACK:status:ok:3",
	}
	for i, w := range want {
		if got := c.line(t); got != w {
			t.Fatalf("line %d: %q, want %q", i+1, got, w)
		}
	}
	// Nothing else was queued: the next request's answer is the next line.
	fmt.Fprintln(c, "status 4")
	s.Reply(request(t, s).ID, "RAYOS_HOST_ACK:status:ok:4")
	if got := c.line(t); got != "RAYOS_HOST_ACK:status:ok:4" {
		t.Errorf("after the sequence: %q", got)
	}
}

// A client that half-closes after its requests still gets every ACK, then
// the server closes the connection.
func TestControlHalfCloseStillGetsEveryAnswer(t *testing.T) {
	s, path := listen(t, guests.ControlOptions{})
	c := dial(t, path)
	io.WriteString(c, "status 1\n\nstatus 2\nstatus 3") // the last line has no newline
	if err := c.Conn.(*net.UnixConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reqs := []guests.ControlRequest{request(t, s), request(t, s), request(t, s)}
	for i := len(reqs) - 1; i >= 0; i-- {
		s.Reply(reqs[i].ID, "RAYOS_HOST_ACK:status:ok:"+reqs[i].Line)
	}
	for _, w := range []string{"RAYOS_HOST_ACK:status:ok:status 1", "RAYOS_HOST_ACK:?:err:empty request", "RAYOS_HOST_ACK:status:ok:status 2", "RAYOS_HOST_ACK:status:ok:status 3"} {
		if got := c.line(t); got != w {
			t.Fatalf("%q, want %q", got, w)
		}
	}
	if l, err := c.r.ReadString('\n'); err != io.EOF {
		t.Errorf("after the last answer: %q, %v; want EOF", l, err)
	}
}

// RayOS stops reading a client with MaxOutstanding requests unanswered, so
// the world never holds more of one client's requests than that.
func TestControlCapsOutstandingRequestsPerClient(t *testing.T) {
	const limit, total = 4, 40
	s, path := listen(t, guests.ControlOptions{MaxOutstanding: limit})
	c := dial(t, path)
	go io.WriteString(c, strings.Repeat("status\n", total))
	answers := make(chan error, 1)
	go func() {
		for i := range total {
			if _, err := c.r.ReadString('\n'); err != nil {
				answers <- fmt.Errorf("answer %d: %w", i+1, err)
				return
			}
		}
		answers <- nil
	}()
	// The fake tick answers only when no request came for a while, so a
	// server that did not hold back would hand it more than the cap.
	got, most := 0, 0
	var held []uint32
	for got < total {
		select {
		case req := <-s.Requests():
			got++
			held = append(held, req.ID)
			most = max(most, len(held))
		case <-time.After(20 * time.Millisecond):
			for _, id := range held {
				s.Reply(id, "RAYOS_HOST_ACK:status:ok:fine")
			}
			held = held[:0]
		}
	}
	for _, id := range held {
		s.Reply(id, "RAYOS_HOST_ACK:status:ok:fine")
	}
	if most > limit {
		t.Errorf("the world held %d unanswered requests of one client; the cap is %d", most, limit)
	}
	if err := <-answers; err != nil {
		t.Error(err)
	}
}

// A client over the client cap gets one line saying so and is closed; the
// refusal is logged, and a slot that frees up is usable again.
func TestControlRefusesClientsOverTheCap(t *testing.T) {
	logs := &logRecords{}
	s, path := listen(t, guests.ControlOptions{MaxClients: 2, Log: slog.New(logs)})
	go func() {
		for req := range s.Requests() {
			s.Reply(req.ID, "RAYOS_HOST_ACK:status:ok:fine")
		}
	}()
	a, b := dial(t, path), dial(t, path)
	for _, c := range []*client{a, b} {
		fmt.Fprintln(c, "status")
		if got := c.line(t); got != "RAYOS_HOST_ACK:status:ok:fine" {
			t.Fatalf("admitted client: %q", got)
		}
	}
	over := dial(t, path)
	if got, want := over.line(t), "RAYOS_HOST_ACK:?:err:too many control clients (limit 2); try again later"; got != want {
		t.Errorf("client over the cap: %q, want %q", got, want)
	}
	if l, err := over.r.ReadString('\n'); err != io.EOF {
		t.Errorf("after the refusal: %q, %v; want EOF", l, err)
	}
	r := logs.waitFor(t, slog.LevelWarn, "too many clients")
	if attr(r, "limit") != "2" {
		t.Errorf("refusal log: %v", r)
	}
	a.Close()
	for deadline := time.Now().Add(hangCeiling); ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no client admitted after one left")
		}
		c := dial(t, path)
		fmt.Fprintln(c, "status")
		if c.line(t) == "RAYOS_HOST_ACK:status:ok:fine" {
			break
		}
		c.Close()
	}
}

// exhausted is a listener whose first accepts fail the way they do when
// the process is out of file descriptors.
type exhausted struct {
	net.Listener
	failures atomic.Int32
}

func (l *exhausted) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// Failed accepts do not end the server: it backs off, keeps accepting, and
// logs it without a line per failure.
func TestControlKeepsAcceptingAfterEMFILE(t *testing.T) {
	const failures = 8
	path := filepath.Join(t.TempDir(), "control.sock")
	inner, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln := &exhausted{Listener: inner}
	ln.failures.Store(failures)
	logs := &logRecords{}
	s := guests.ServeControl(ln, guests.ControlOptions{Log: slog.New(logs)})
	defer s.Close()
	c := dial(t, path)
	fmt.Fprintln(c, "status")
	req := request(t, s)
	s.Reply(req.ID, "RAYOS_HOST_ACK:status:ok:fine")
	if got := c.line(t); got != "RAYOS_HOST_ACK:status:ok:fine" {
		t.Errorf("after %d failed accepts: %q", failures, got)
	}
	warned := logs.matching(slog.LevelWarn, "accept failed")
	if len(warned) == 0 || len(warned) >= failures {
		t.Errorf("%d warnings for %d failed accepts; want some, rate-limited", len(warned), failures)
	}
	if again := logs.matching(slog.LevelInfo, "accepting again"); len(again) != 1 || attr(again[0], "failed_accepts") != fmt.Sprint(failures) {
		t.Errorf("recovery log: %v", again)
	}
}

func TestControlAcceptBackoffDoublesTo1s(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 10 {
		d = guests.AcceptDelay(d)
		got = append(got, d)
	}
	ms := time.Millisecond
	want := []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff %v, want %v", got, want)
		}
	}
}

// Only a stale socket at --control is replaced; anything else is the
// user's and stays.
func TestControlReplacesOnlyAStaleSocket(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	cases := []struct {
		name, why string
		make      func(path string) error
	}{
		{"file", "is a regular file", func(p string) error { return os.WriteFile(p, []byte("keep"), 0o644) }},
		{"dir", "is a directory", func(p string) error { return os.Mkdir(p, 0o755) }},
		{"symlink", "is a symbolic link", func(p string) error { return os.Symlink(target, p) }},
		{"fifo", "is a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := c.make(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(path)
			s, err := guests.ListenControl(path)
			if err == nil {
				s.Close()
				t.Fatal("listened over it")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.why) {
				t.Errorf("error %q does not name %s and say it %s", err, path, c.why)
			}
			after, err := os.Lstat(path)
			if err != nil || !os.SameFile(before, after) || before.Mode() != after.Mode() {
				t.Errorf("%s changed: %v", path, err)
			}
		})
	}
	t.Run("stale socket", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close() // what a crash leaves: the file, nobody accepting
		s, err := guests.ListenControl(path)
		if err != nil {
			t.Fatalf("a stale socket was not replaced: %v", err)
		}
		s.Close()
	})
	t.Run("live socket", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if _, err := guests.ListenControl(path); err == nil || !strings.Contains(err.Error(), "another rayos (or another program) is serving it") {
			t.Errorf("a live socket: %v", err)
		}
		if info, err := os.Lstat(path); err != nil || info.Mode()&os.ModeSocket == 0 {
			t.Errorf("the live socket is gone: %v", err)
		}
	})
	t.Run("close removes only its own socket", func(t *testing.T) {
		path := filepath.Join(dir, "moved.sock")
		s, err := guests.ListenControl(path)
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(path)
		os.WriteFile(path, []byte("someone else's"), 0o644)
		s.Close()
		if data, err := os.ReadFile(path); err != nil || string(data) != "someone else's" {
			t.Errorf("close removed a file it did not create: %v", err)
		}
	})
}

// Notices for a client that does not read are queued up to a bound, then
// the client is disconnected; Notify never waits on its socket.
func TestControlNoticeFloodDisconnectsTheClient(t *testing.T) {
	logs := &logRecords{}
	s, path := listen(t, guests.ControlOptions{WriteTimeout: time.Hour, Log: slog.New(logs)})
	stall(t, path, 1)
	req := request(t, s)
	for range 20000 {
		s.Notify(req.ID, "RAYOS_AUDIT:note:"+strings.Repeat("n", 1000))
	}
	s.Reply(req.ID, "RAYOS_HOST_ACK:status:ok:fine")
	r := logs.waitFor(t, slog.LevelWarn, "control client disconnected")
	if !strings.Contains(attr(r, "reason"), "notices queued") {
		t.Errorf("disconnect log: %v", r)
	}
}
