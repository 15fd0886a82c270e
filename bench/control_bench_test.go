package bench

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rayos/engine/boot"
	"github.com/rayos/engine/guests/daemon"
)

// runtimeFor boots RayOS in this process on a fresh RAYOS_DATA with the
// given policy, ticking at hz, and returns its control socket and a stop.
func runtimeFor(b *testing.B, hz float64, policyText string, libvirtSocket string) (string, func()) {
	b.Helper()
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	first := boot.Options{DataDir: data, Scene: "demo", Hz: 1000, Ticks: 1, GPU: "cpu", Stdout: io.Discard, Logger: quiet}
	if err := boot.Run(first); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "policy", "rayos-policy.toml"), []byte(policyText), 0o644); err != nil {
		b.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	o := boot.Options{DataDir: data, Scene: "demo", Hz: hz, Paced: true, GPU: "cpu", Stdout: io.Discard, Logger: quiet, Signals: sigs,
		ControlPath: filepath.Join(dir, "c.sock"), LibvirtSocket: libvirtSocket, LibvirtURI: "test:///default"}
	done := make(chan error, 1)
	go func() { done <- boot.Run(o) }()
	for i := 0; ; i++ {
		if c, err := net.Dial("unix", o.ControlPath); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			b.Fatal("control socket did not open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return o.ControlPath, func() {
		sigs <- syscall.SIGTERM
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

const benchPolicy = `version = 1
[guests.linux]
start = true
present = true
shutdown = true
inputs = ["type", "press"]
[guests.windows]
start = true
present = true
`

// request sends one line and waits for its ACK, returning the latency.
func request(b *testing.B, conn net.Conn, r *bufio.Reader, line string) time.Duration {
	start := time.Now()
	if _, err := fmt.Fprintln(conn, line); err != nil {
		b.Fatal(err)
	}
	ack, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(ack, "RAYOS_HOST_ACK:") || !strings.Contains(ack, ":ok:") {
		b.Fatalf("%s: %q %v", line, ack, err)
	}
	return time.Since(start)
}

func reportPercentiles(b *testing.B, lat []time.Duration, tick time.Duration) {
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(p50)/float64(tick), "p50-ticks")
	b.ReportMetric(float64(p99)/float64(tick), "p99-ticks")
}

// BenchmarkControlLatency: request → ACK over the control socket, p50 and
// p99 over 1,000 requests, at 100 Hz. present/hide need no hypervisor
// call; start/shutdown go to a real libvirtd (test driver).
func BenchmarkControlLatency(b *testing.B) {
	const hz, n = 100, 1000
	tick := time.Second / hz
	b.Run("present/ops=1000", func(b *testing.B) {
		sock, stop := runtimeFor(b, hz, benchPolicy, "")
		defer stop()
		conn, _ := net.Dial("unix", sock)
		defer conn.Close()
		r := bufio.NewReader(conn)
		var lat []time.Duration
		for b.Loop() {
			lat = lat[:0]
			for i := 0; i < n/2; i++ {
				lat = append(lat, request(b, conn, r, "present linux"), request(b, conn, r, "hide linux"))
			}
		}
		reportPercentiles(b, lat, tick)
	})
	b.Run("start/ops=1000", func(b *testing.B) {
		d, err := daemon.Start(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer d.Stop()
		sock, stop := runtimeFor(b, hz, benchPolicy, d.Socket)
		defer stop()
		conn, _ := net.Dial("unix", sock)
		defer conn.Close()
		r := bufio.NewReader(conn)
		// Wait for the autostart of linux, then take it down and up.
		for i := 0; ; i++ {
			fmt.Fprintln(conn, "status linux")
			if ack, _ := r.ReadString('\n'); strings.Contains(ack, "linux=hidden") {
				break
			}
			if i > 500 {
				b.Fatal("linux never started")
			}
			time.Sleep(10 * time.Millisecond)
		}
		var lat []time.Duration
		for b.Loop() {
			lat = lat[:0]
			for i := 0; i < n/2; i++ {
				request(b, conn, r, "shutdown linux")
				lat = append(lat, request(b, conn, r, "start linux"))
			}
		}
		reportPercentiles(b, lat, tick)
	})
}

// BenchmarkControlLoad: 8 clients send 1,000 requests/s in all for 30 s;
// every request must get exactly one ACK. Reports requests and ACKs.
func BenchmarkControlLoad(b *testing.B) {
	const clients, perSecond, seconds = 8, 1000, 30
	sock, stop := runtimeFor(b, 100, benchPolicy, "")
	defer stop()
	for b.Loop() {
		var sent, acked, bad int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		ops := []string{"status", "present linux", "hide linux", "type linux x", "present windows", "hide windows"}
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				conn, err := net.Dial("unix", sock)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				n := perSecond / clients * seconds
				interval := time.Second * clients / perSecond
				acks := make(chan int, 1)
				go func() {
					sc := bufio.NewScanner(conn)
					got, wrong := 0, 0
					for got < n && sc.Scan() {
						got++
						if !strings.HasPrefix(sc.Text(), "RAYOS_HOST_ACK:") {
							wrong++
						}
					}
					mu.Lock()
					bad += int64(wrong)
					mu.Unlock()
					acks <- got
				}()
				next := time.Now()
				for i := 0; i < n; i++ {
					fmt.Fprintln(conn, ops[(i+c)%len(ops)])
					next = next.Add(interval)
					time.Sleep(time.Until(next))
				}
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				got := <-acks
				mu.Lock()
				sent += int64(n)
				acked += int64(got)
				mu.Unlock()
			}(c)
		}
		wg.Wait()
		b.ReportMetric(float64(sent), "requests")
		b.ReportMetric(float64(acked), "acks")
		b.ReportMetric(float64(bad), "bad-acks")
		if acked != sent || bad != 0 {
			b.Errorf("%d requests, %d ACKs (%d malformed)", sent, acked, bad)
		}
	}
}
