package guests_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/guests"
)

// A watch request's ACK comes after the answers to the requests sent
// before it, and the stream after the ACK: only the prefixes asked for,
// in emission order.
func TestWatchStreamsAfterEarlierAnswers(t *testing.T) {
	s, path := listen(t, guests.ControlOptions{})
	sink := s.MarkerSink()
	c := dial(t, path)
	fmt.Fprint(c, "status\nwatch RAYOS_GUEST RAYOS_AUDIT:policy\n")
	st := request(t, s)
	// Wait until the watch is registered: its ACK is queued behind the
	// status answer, so publish until a line reaches the client.
	for i := 0; ; i++ {
		sink.Write([]byte(fmt.Sprintf("RAYOS_GUEST:probe:%d\n", i)))
		if s.Watchers() > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for _, l := range []string{"RAYOS_BOOT:ready:tick=0", "RAYOS_GUEST:linux:hidden", "RAYOS_AUDIT:policy-allow:x", "RAYOS_AUDIT:unpresent:y", "RAYOS_GUEST:linux:presented"} {
		sink.Write([]byte(l + "\n"))
	}
	s.Reply(st.ID, "RAYOS_HOST_ACK:status:ok:linux=hidden")
	if got := c.line(t); got != "RAYOS_HOST_ACK:status:ok:linux=hidden" {
		t.Fatalf("first line %q, want the status answer", got)
	}
	if got, want := c.line(t), "RAYOS_HOST_ACK:watch:ok:streaming RAYOS_GUEST RAYOS_AUDIT%3Apolicy"; got != want {
		t.Fatalf("second line %q, want %q", got, want)
	}
	var got []string
	for len(got) < 3 {
		if l := c.line(t); !strings.HasPrefix(l, "RAYOS_GUEST:probe:") {
			got = append(got, l)
		}
	}
	want := []string{"RAYOS_GUEST:linux:hidden", "RAYOS_AUDIT:policy-allow:x", "RAYOS_GUEST:linux:presented"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream %q, want %q", got, want)
	}
	// Lines sent after watch are not requests.
	fmt.Fprint(c, "status\n")
	select {
	case req := <-s.Requests():
		t.Errorf("a line after watch reached the world: %q", req.Line)
	case <-time.After(100 * time.Millisecond): // a check for absence, not a timing threshold
	}
	// Closing the connection ends the watch.
	c.Close()
	for s.Watchers() != 0 {
		time.Sleep(time.Millisecond)
	}
}

// An unknown kind is refused and names the valid ones; the connection
// stays a request connection.
func TestWatchRefusesUnknownKinds(t *testing.T) {
	s, path := listen(t, guests.ControlOptions{})
	c := dial(t, path)
	for _, bad := range []string{"watch GUEST", "watch RAYOS_GUESTS", "watch RAYOS_GUEST rayos_audit"} {
		fmt.Fprint(c, bad+"\n")
		got := c.line(t)
		if !strings.HasPrefix(got, "RAYOS_HOST_ACK:watch:err:unknown marker kind") || !strings.Contains(got, "RAYOS_GUEST") {
			t.Errorf("%s: %q, want an err naming the kinds", bad, got)
		}
	}
	if s.Watchers() != 0 {
		t.Errorf("%d watchers after refused watch requests", s.Watchers())
	}
	fmt.Fprint(c, "status\n")
	s.Reply(request(t, s).ID, "RAYOS_HOST_ACK:status:ok:fine")
	if got := c.line(t); got != "RAYOS_HOST_ACK:status:ok:fine" {
		t.Errorf("after the refusals: %q", got)
	}
}

// A watcher that never reads is cut off once its queue is full; the sink
// (the tick) never waits for it and another client is still answered.
func TestWatcherThatDoesNotReadIsCut(t *testing.T) {
	logs := &logRecords{}
	s, path := listen(t, guests.ControlOptions{WatchQueue: 16, Log: slog.New(logs)})
	sink := s.MarkerSink()
	lazy, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	raw, _ := lazy.(*net.UnixConn).SyscallConn()
	raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	fmt.Fprint(lazy, "watch\n")
	for s.Watchers() == 0 {
		time.Sleep(time.Millisecond)
	}
	big := "RAYOS_AUDIT:x:" + strings.Repeat("y", 1000) + "\n"
	for i := 0; s.Watchers() > 0; i++ {
		if i > 1_000_000 {
			t.Fatal("the lazy watcher was never cut")
		}
		sink.Write([]byte(big)) // returns at once whatever the watcher does
	}
	rec := logs.waitFor(t, slog.LevelWarn, "control client disconnected")
	if !strings.Contains(attr(rec, "reason"), "watcher fell behind") {
		t.Errorf("disconnect reason %q", attr(rec, "reason"))
	}
	// The lazy watcher's connection ends (after what was already written).
	lazy.SetReadDeadline(time.Now().Add(hangCeiling))
	if _, err := io.Copy(io.Discard, lazy); err != nil {
		t.Errorf("the cut watcher's connection: %v, want EOF", err)
	}
	c := dial(t, path)
	fmt.Fprint(c, "status\n")
	s.Reply(request(t, s).ID, "RAYOS_HOST_ACK:status:ok:fine")
	if got := c.line(t); got != "RAYOS_HOST_ACK:status:ok:fine" {
		t.Errorf("another client after the cut: %q", got)
	}
}

// Closing the server ends every watcher's stream after the lines already
// queued, within its grace.
func TestCloseEndsWatchers(t *testing.T) {
	s, path := listen(t, guests.ControlOptions{})
	c := dial(t, path)
	fmt.Fprint(c, "watch\n")
	if got := c.line(t); got != "RAYOS_HOST_ACK:watch:ok:streaming all markers" {
		t.Fatalf("watch: %q", got)
	}
	s.MarkerSink().Write([]byte("RAYOS_BOOT:shutdown:reason=test tick=1\n"))
	s.Close()
	rest, err := io.ReadAll(c.r)
	if err != nil || string(rest) != "RAYOS_BOOT:shutdown:reason=test tick=1\n" {
		t.Errorf("after Close: %q, %v", rest, err)
	}
}
