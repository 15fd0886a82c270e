package marker

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gate is a writer that blocks until opened, like a pipe nobody reads.
type gate struct {
	open    chan struct{}
	entered chan struct{} // receives once per Write that begins
	mu      sync.Mutex
	buf     bytes.Buffer
}

func newGate() *gate { return &gate{open: make(chan struct{}), entered: make(chan struct{}, 100)} }

func (g *gate) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gate) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestSpoolNeverBlocksAndReportsTheGapInOrder(t *testing.T) {
	g := newGate()
	s := NewSpool(g, 100, GapLine("stdout"))
	var drops, gaps []uint64
	s.OnDrop = func() { drops = append(drops, 0) }
	s.OnGap = func(n uint64) { gaps = append(gaps, n) }
	// The drain goroutine takes the first line and blocks on it; the next
	// lines fill the 100-byte buffer; the rest are dropped. None of these
	// writes may wait for the reader.
	sent := []string{"RAYOS_BOOT:line:first\n"}
	s.Write([]byte(sent[0]))
	<-g.entered // the drain goroutine now waits for the reader
	for i := 0; i < 50; i++ {
		line := fmt.Sprintf("RAYOS_BOOT:line:%02d\n", i) // 19 bytes
		sent = append(sent, line)
		if n, err := s.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if s.Dropped() == 0 || len(drops) != 1 {
		t.Fatalf("dropped %d lines, %d gap starts; want some lines and one gap", s.Dropped(), len(drops))
	}
	dropped := s.Dropped()
	close(g.open) // the reader comes back
	<-g.entered   // and the drain goroutine took the buffered lines
	s.Write([]byte("RAYOS_BOOT:after:gap\n"))
	if err := s.Close(time.Minute); err != nil {
		t.Fatal(err)
	}
	gapLine := fmt.Sprintf("RAYOS_AUDIT:markers-dropped:sink=stdout count=%d\n", dropped)
	kept := len(sent) - int(dropped)
	want := strings.Join(sent[:kept], "") + gapLine + "RAYOS_BOOT:after:gap\n"
	if got := g.String(); got != want {
		t.Errorf("stream:\n%s\nwant:\n%s", got, want)
	}
	if len(gaps) != 1 || gaps[0] != dropped {
		t.Errorf("OnGap calls %v, want [%d]", gaps, dropped)
	}
	if _, err := Parse(strings.TrimSuffix(gapLine, "\n")); err != nil {
		t.Errorf("the gap line is not a marker: %v", err)
	}
}

// Lines of mixed lengths still make one gap per outage: a short line
// that would fit behind a long one just dropped is dropped too, until the
// reader has taken half the buffer.
func TestSpoolMixedLengthsMakeOneGap(t *testing.T) {
	g := newGate()
	s := NewSpool(g, 200, GapLine("stdout"))
	var starts int
	s.OnDrop = func() { starts++ }
	s.Write([]byte("RAYOS_BOOT:line:first\n"))
	<-g.entered
	long := "RAYOS_BOOT:long:" + strings.Repeat("x", 103) + "\n" // 120 bytes
	short := "RAYOS_BOOT:s:1\n"                                  // 15 bytes
	for range 5 {
		s.Write([]byte(long)) // the first fits, the rest do not
		// A short line and the gap line (≈ 50 bytes) would fit behind
		// the first long line.
		s.Write([]byte(short))
	}
	if starts != 1 {
		t.Errorf("%d gaps began while the reader was away, want 1", starts)
	}
	close(g.open)
	if err := s.Close(time.Minute); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(g.String(), "markers-dropped"); n != 1 {
		t.Errorf("%d gap lines in the stream, want 1:\n%s", n, g.String())
	}
}

func TestSpoolCloseReportsAGapAtTheEndAndDoesNotWaitForever(t *testing.T) {
	var out bytes.Buffer
	g := newGate()
	s := NewSpool(g, 40, GapLine("stdout"))
	for i := 0; i < 10; i++ {
		s.Write([]byte("RAYOS_BOOT:x:y\n"))
	}
	// Nobody ever reads: Close gives up after its wait and says so.
	if err := s.Close(10 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "unwritten") {
		t.Errorf("Close with a stuck reader: %v", err)
	}
	close(g.open)

	s = NewSpool(&out, 40, GapLine("stdout"))
	s.mu.Lock() // hold the drain goroutine back so the buffer fills
	for i := 0; i < 10; i++ {
		s.queueLocked([]byte("RAYOS_BOOT:x:y\n"))
	}
	s.mu.Unlock()
	if err := s.Close(time.Minute); err != nil {
		t.Fatal(err)
	}
	l := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if got := l[len(l)-1]; got != "RAYOS_AUDIT:markers-dropped:sink=stdout count=8" {
		t.Errorf("last line %q, want the gap of the 8 dropped lines:\n%s", got, out.String())
	}
}

func TestLogFileRotatesBySizeAndKeepsOnlyNFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "markers.log")
	l, err := OpenLogFile(path, 50, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := l.Write([]byte(fmt.Sprintf("RAYOS_BOOT:n:%02d\n", i))); err != nil { // 16 bytes
			t.Fatal(err)
		}
	}
	l.Close()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "markers.log markers.log.1 markers.log.2" {
		t.Fatalf("files %v, want markers.log and 2 rotated ones", names)
	}
	var all string
	for _, name := range []string{"markers.log.2", "markers.log.1", "markers.log"} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		if len(data) > 50 || len(data)%16 != 0 {
			t.Errorf("%s holds %d bytes: over the limit or a split line", name, len(data))
		}
		all += string(data)
	}
	// Oldest first, the three files hold the most recent lines, in order.
	if !strings.HasSuffix(all, "RAYOS_BOOT:n:19\n") || !strings.HasPrefix(all, "RAYOS_BOOT:n:12\n") {
		t.Errorf("rotated content:\n%s", all)
	}
	// A file reopened above its limit rotates on the first write.
	l, _ = OpenLogFile(path, 10, 2)
	l.Write([]byte("RAYOS_BOOT:n:new\n"))
	l.Close()
	if data, _ := os.ReadFile(path); string(data) != "RAYOS_BOOT:n:new\n" {
		t.Errorf("after reopening: %q", data)
	}
}
