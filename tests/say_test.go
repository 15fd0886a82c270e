package tests

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sayClient is a raw control-socket connection: no ctl in between, so
// what a hostile or careless client sends arrives as it is.
type sayClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialSay(t *testing.T, dir string) *sayClient {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(dir, "data", "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(runCeiling))
	return &sayClient{t: t, c: c, r: bufio.NewReader(c)}
}

// send writes one request line and returns the lines that answer it, up
// to and including its RAYOS_HOST_ACK (or, with untilNotice, up to the
// first notice that it waits for confirmation).
func (s *sayClient) send(line string, untilNotice bool) []string {
	s.t.Helper()
	if _, err := s.c.Write([]byte(line + "\n")); err != nil {
		s.t.Fatal(err)
	}
	var got []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("after %q: %v (read %q)", line, err, got)
		}
		l = strings.TrimSuffix(l, "\n")
		got = append(got, l)
		if strings.HasPrefix(l, "RAYOS_HOST_ACK:") || untilNotice && strings.HasPrefix(l, "RAYOS_AUDIT:policy-confirm:") {
			return got
		}
	}
}

// What a careless or hostile client can say gets a clear answer and
// changes nothing: an utterance longer than the language reads, bytes
// that are not text, a confirmation for a request that does not exist,
// a bare confirm from a client with nothing waiting (another client's
// waiting request is not its own), nonsense. The guests are where they
// were, and the other client's request still waits for its own answer.
func TestSayRefusesWhatItCannotUnderstandAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
	a, b := dialSay(t, dir), dialSay(t, dir)
	before := a.send("status", false)

	for _, c := range []struct {
		line, says string
		understood bool // reaches intent resolution (the socket refuses what is not one line of text)
	}{
		{"say type linux " + strings.Repeat("x", 600), "longer than 512", true},
		{"say \xff\xfe\x00", "not UTF-8", false},
		{"say hello\x07there", "control characters", false},
		{"say confirm 999", "RAYOS_HOST_ACK:confirm:err:", true},
		{"say flibber the wibble", "did not understand", true},
		{"say", "nothing said", true},
	} {
		got := a.send(c.line, false)
		ack := got[len(got)-1]
		if !strings.Contains(strings.Join(got, "\n"), c.says) || !strings.Contains(ack, ":err:") {
			t.Errorf("say %.40q: answered %q; want an err ACK saying %q", c.line, got, c.says)
		}
		if c.understood && (len(got) < 2 || !strings.HasPrefix(got[0], "RAYOS_INTENT:")) {
			t.Errorf("say %.40q: no RAYOS_INTENT line before the ACK: %q", c.line, got)
		}
	}

	// a asks to shut windows down: the policy wants a confirmation.
	waiting := a.send("say shut down windows", true)
	if !strings.HasPrefix(waiting[0], "RAYOS_INTENT:") || !strings.Contains(waiting[0], ":shutdown:windows:") {
		t.Fatalf("say shut down windows: %q", waiting)
	}
	// b has nothing waiting: its bare confirm is answered, and does not
	// confirm a's request.
	if got := b.send("say confirm", false); !strings.Contains(got[len(got)-1], "RAYOS_HOST_ACK:confirm:err:") {
		t.Errorf("b's bare confirm: %q, want an err ACK", got)
	}
	if after := b.send("status", false); after[len(after)-1] != before[len(before)-1] {
		t.Errorf("status changed: before %q, after %q", before, after)
	}
	// a's own bare confirm answers its own request: the shutdown is
	// carried out (its ACK comes first, in request order), then the
	// confirm's own ACK.
	got := a.send("say confirm", false)
	if !strings.HasPrefix(got[len(got)-1], "RAYOS_HOST_ACK:shutdown:ok:") {
		t.Errorf("a's confirm: %q, want the shutdown's ACK", got)
	}
	if got := a.send("pending", false); !strings.HasPrefix(got[len(got)-1], "RAYOS_HOST_ACK:confirm:ok:") {
		t.Errorf("a's confirm: %q, want its own ok ACK before pending's", got)
	}
}
