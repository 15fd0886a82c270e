package tests

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// One world under everything at once, as a careless or hostile operator
// would have it: file descriptors scarce (prlimit 256), two clients that
// pipeline 20,000 requests and never read, a crowd of idle connections and
// a burst over the client cap, a client that reads its answers slowly,
// eight well-behaved clients with a mix of good and bad lines, and
// registry edits from other processes. Then the invariants: the world kept
// its tick rate (≥ 90 % of the target), every request of the clients that
// read got exactly one ACK, in order; every acknowledged registry edit is
// there; a kill -9 later, the next boot comes up by itself.
func TestChaosOneWorldUnderEveryKindOfClient(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed for this test: %v", err)
	}
	const hz = 100
	dir := t.TempDir()
	if r := boot(t, dir); r.code != 0 {
		t.Fatalf("first boot: %d %s", r.code, r.stderr)
	}
	r := startCommand(t, dir, exec.Command(prlimit, "--nofile=256:256", "--", rayosBin, "boot", "--data", "data", "--gpu", "cpu", "--hz", strconv.Itoa(hz)))
	readyAt := time.Now()
	sock := filepath.Join(dir, "data", "control.sock")

	stallControl(t, sock, 20000)
	stallControl(t, sock, 20000)
	for range 100 { // idle: connected, never a word
		dialControl(t, sock)
	}
	refused := burstOverTheCap(t, sock, 200)

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	wg.Add(1)
	go func() { defer wg.Done(); errs <- slowReader(sock, 300) }()
	for c := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- roundTrips(sock, c, 50) }()
	}
	added := make(chan string, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("chaos%d", i)
			if res := rayos(t, dir, "guest", "add", id, "--data", "data"); res.code == 0 {
				added <- id
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(added)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	termAt := time.Now()
	r.terminate(t)
	var ticks int
	for _, l := range lines(r.output()) {
		if m := shutdownTick.FindStringSubmatch(l); m != nil {
			ticks, _ = strconv.Atoi(m[1])
		}
	}
	elapsed := termAt.Sub(readyAt)
	t.Logf("%d ticks in %.2f s (%.1f Hz, target %d); %d connections over the cap refused in one line", ticks, elapsed.Seconds(), float64(ticks)/elapsed.Seconds(), hz, refused)
	if want := 0.9 * hz * elapsed.Seconds(); float64(ticks) < want {
		t.Errorf("%d ticks in %.2f s at %d Hz: below 90 %% (%.0f)", ticks, elapsed.Seconds(), hz, want)
	}
	if refused == 0 {
		t.Error("no connection over the cap was refused: the burst did not test the cap")
	}

	// Nothing acknowledged was lost.
	reg := readFile(t, filepath.Join(dir, "data", "vm", "registry.toml"))
	n := 0
	for id := range added {
		n++
		if !strings.Contains(reg, "[vm."+id+"]") {
			t.Errorf("guest add %s was acknowledged but is not in the registry", id)
		}
	}
	if n == 0 {
		t.Error("no guest add was acknowledged under load")
	}

	// kill -9 at a random moment of a boot; the next one comes up by itself.
	k := spawnBoot(t, dir, "--hz", strconv.Itoa(hz))
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	k.killNow(t)
	next := startRayos(t, dir, "--hz", strconv.Itoa(hz))
	next.stop(t)
	if out := next.output(); !strings.Contains(out, "RAYOS_BOOT:ready:tick=0") {
		t.Errorf("the boot after kill -9 did not come up:\n%s", out)
	}
}

// burstOverTheCap opens n connections at once while the idle crowd and
// the stalled clients hold their slots, and returns how many were refused
// with the one-line refusal; all are closed before it returns, freeing
// the slots of those admitted.
func burstOverTheCap(t *testing.T, sock string, n int) int {
	t.Helper()
	var refused sync.WaitGroup
	var mu sync.Mutex
	count := 0
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("unix", sock)
		if err != nil {
			continue // the listen backlog is full: the kernel refused it
		}
		conns = append(conns, c)
		refused.Add(1)
		go func() {
			defer refused.Done()
			// Admitted ones get no line: the deadline ends the wait.
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			if strings.HasPrefix(line, "RAYOS_HOST_ACK:?:err:too many control clients") {
				mu.Lock()
				count++
				mu.Unlock()
			}
		}()
	}
	refused.Wait()
	for _, c := range conns {
		c.Close()
	}
	return count
}

// dialAdmitted connects as a well-behaved client does when the server is
// full: a connection refused over the cap ("try again later") is retried
// until one is admitted. The burst's connections are closed just before
// the well-behaved clients connect, and the server frees their slots
// only as it sees them go. Admission is confirmed with a read (pending).
func dialAdmitted(sock string) (net.Conn, *bufio.Reader, error) {
	deadline := time.Now().Add(runCeiling)
	for {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, err
		}
		c.SetDeadline(deadline)
		rd := bufio.NewReader(c)
		fmt.Fprintln(c, "pending")
		answer, err := rd.ReadString('\n')
		if err == nil && strings.HasPrefix(answer, "RAYOS_HOST_ACK:pending:") {
			return c, rd, nil
		}
		c.Close()
		if !strings.HasPrefix(answer, "RAYOS_HOST_ACK:?:err:too many control clients") || time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("not admitted: %q %v", answer, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slowReader pipelines n requests with a tiny receive buffer and reads
// the answers one every 10 ms: it falls behind but keeps reading, so it
// must get every answer, in order.
func slowReader(sock string, n int) error {
	c, admitted, err := dialAdmitted(sock)
	if err != nil {
		return fmt.Errorf("slow reader: %w", err)
	}
	if admitted.Buffered() > 0 {
		return fmt.Errorf("slow reader: an answer too many after admission")
	}
	defer c.Close()
	raw, _ := c.(*net.UnixConn).SyscallConn()
	raw.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
	c.SetDeadline(time.Now().Add(runCeiling))
	go func() {
		w := bufio.NewWriter(c)
		for i := range n {
			if i%2 == 0 {
				fmt.Fprintln(w, "status")
			} else {
				fmt.Fprintln(w, "pending")
			}
		}
		w.Flush()
	}()
	sc := bufio.NewScanner(c)
	for i := range n {
		if !sc.Scan() {
			return fmt.Errorf("slow reader: %d answers of %d, then %v", i, n, sc.Err())
		}
		want := "RAYOS_HOST_ACK:status:ok:"
		if i%2 == 1 {
			want = "RAYOS_HOST_ACK:pending:ok:"
		}
		if !strings.HasPrefix(sc.Text(), want) {
			return fmt.Errorf("slow reader: answer %d is %q, want %s…", i, sc.Text(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// roundTrips sends n requests one at a time — good ones, denied ones and
// lines RayOS answers itself — and expects one ACK line for each.
func roundTrips(sock string, client, n int) error {
	c, rd, err := dialAdmitted(sock)
	if err != nil {
		return fmt.Errorf("client %d: %w", client, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(runCeiling))
	lines := []string{"status", "present linux", "type linux hello", "hide linux", "", "fly linux", "cancel", strings.Repeat("x", 5000), "status windows\x01"}
	for i := range n {
		line := lines[(i+client)%len(lines)]
		if _, err := fmt.Fprintln(c, line); err != nil {
			return fmt.Errorf("client %d, request %d: %w", client, i, err)
		}
		for {
			answer, err := rd.ReadString('\n')
			if err != nil {
				return fmt.Errorf("client %d, request %d (%.20q): no answer: %v", client, i, line, err)
			}
			if strings.HasPrefix(answer, "RAYOS_HOST_ACK:") {
				break
			}
			if !strings.HasPrefix(answer, "RAYOS_AUDIT:policy-confirm:") {
				return fmt.Errorf("client %d: unexpected line %q", client, answer)
			}
		}
	}
	// The connection must be clean: no second answer to anything.
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if extra, err := rd.ReadString('\n'); err == nil {
		return fmt.Errorf("client %d: an answer too many: %q", client, extra)
	}
	return nil
}
