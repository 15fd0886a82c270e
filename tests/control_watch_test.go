package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rayos ctl watch prints the markers RayOS emits, in the order of its
// stdout, only the kinds asked for, and exits 0 after the shutdown line.
func TestCtlWatchStreamsMarkersInOrder(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "100")
	watch := exec.Command(rayosBin, "ctl", "--data", "data", "watch", "--kind", "RAYOS_GUEST", "--kind", "RAYOS_HOST_ACK")
	watch.Dir, watch.Env = dir, withoutRayosData()
	out, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Once a status ACK shows in the stream, the watch is subscribed.
	for subscribed := false; !subscribed; {
		rayos(t, dir, "ctl", "--data", "data", "status")
		for drained := false; !drained && !subscribed; {
			select {
			case l := <-lines:
				subscribed = strings.HasPrefix(l, "RAYOS_HOST_ACK:status:")
			case <-time.After(50 * time.Millisecond):
				drained = true
			}
		}
	}
	for _, req := range [][]string{{"present", "linux"}, {"present", "windows"}, {"hide", "linux"}, {"hide", "windows"}} {
		if res := rayos(t, dir, append([]string{"ctl", "--data", "data"}, req...)...); res.code != 0 {
			t.Fatalf("ctl %v: %d %s", req, res.code, res.stderr)
		}
	}
	r.stop(t)
	var got []string
	for l := range lines {
		got = append(got, l)
	}
	if err := watch.Wait(); err != nil {
		t.Errorf("ctl watch after RayOS stopped: %v, want exit 0", err)
	}
	if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "RAYOS_BOOT:shutdown:") {
		t.Fatalf("the stream does not end with the shutdown line: %q", got)
	}
	// The stream is the stdout's lines of those kinds, from where it began.
	var want []string
	for _, l := range lines2(r.output()) {
		if strings.HasPrefix(l, "RAYOS_GUEST") || strings.HasPrefix(l, "RAYOS_HOST_ACK") || strings.HasPrefix(l, "RAYOS_BOOT:shutdown:") {
			want = append(want, l)
		}
	}
	want = want[len(want)-len(got):]
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream:\n%s\nwant (stdout, same kinds):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(strings.Join(got, "\n"), "RAYOS_GUEST:linux:presented\nRAYOS_HOST_ACK:present:ok:presented\nRAYOS_GUEST:windows:presented") {
		t.Errorf("the requests' markers are missing or out of order:\n%s", strings.Join(got, "\n"))
	}
}

func lines2(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// A watcher that never reads is cut off; meanwhile the world keeps
// ticking and answering: another client's 2000 pipelined requests (each
// answered in its own tick order) are all answered, and a reading watcher
// gets every one of their ACKs.
func TestWatcherThatNeverReadsIsCut(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "200")
	sock := filepath.Join(dir, "data", "control.sock")
	lazy, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	raw, _ := lazy.(*net.UnixConn).SyscallConn()
	raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	fmt.Fprint(lazy, "watch\n")
	reader, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	fmt.Fprint(reader, "watch RAYOS_HOST_ACK:status\n")
	rr := bufio.NewReader(reader)
	if l, _ := rr.ReadString('\n'); !strings.HasPrefix(l, "RAYOS_HOST_ACK:watch:ok:") {
		t.Fatalf("watch: %q", l)
	}
	// Long lines fill the lazy watcher's socket quickly: every request
	// names an unknown 1000-character guest.
	const n = 2000
	busy, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	go func() {
		w := bufio.NewWriter(busy)
		for range n {
			fmt.Fprintf(w, "status %s\n", strings.Repeat("x", 1000))
		}
		w.Flush()
	}()
	watched := make(chan error, 1)
	go func() {
		reader.SetReadDeadline(time.Now().Add(runCeiling))
		for i := range n {
			if l, err := rr.ReadString('\n'); err != nil || !strings.HasPrefix(l, "RAYOS_HOST_ACK:status:err:") {
				watched <- fmt.Errorf("reading watcher, line %d: %q %v", i, l, err)
				return
			}
		}
		watched <- nil
	}()
	br := bufio.NewReader(busy)
	busy.SetReadDeadline(time.Now().Add(runCeiling))
	for i := range n {
		l, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "RAYOS_HOST_ACK:status:err:unknown vm") {
			t.Fatalf("answer %d: %q %v", i, l, err)
		}
	}
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	r.waitStderr(t, "control client disconnected", "watcher fell behind")
	lazy.SetReadDeadline(time.Now().Add(runCeiling))
	if _, err := io.Copy(io.Discard, lazy); err != nil {
		t.Errorf("the lazy watcher's connection: %v, want its end", err)
	}
	if res := rayos(t, dir, "ctl", "--data", "data", "status"); res.code != 0 {
		t.Errorf("status after the cut: %d %s", res.code, res.stderr)
	}
	r.stop(t)
}

// Bad watch prefixes are bad usage, naming the kinds, before connecting.
func TestCtlWatchRefusesUnknownKinds(t *testing.T) {
	res := rayos(t, t.TempDir(), "ctl", "--data", "nowhere", "watch", "--kind", "GUEST")
	if res.code != 2 || !strings.Contains(res.stderr, "RAYOS_GUEST") {
		t.Errorf("watch --kind GUEST: exit %d, %q", res.code, res.stderr)
	}
}
