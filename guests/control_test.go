package guests_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rayos/engine/guests"
)

func TestControlServerRoutesAnswersAndRefusesBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := guests.ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, %v; want 0600", info.Mode(), err)
	}
	if _, err := guests.ListenControl(path); err == nil || !strings.Contains(err.Error(), "another rayos") {
		t.Errorf("a second server on the same socket: %v", err)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	fmt.Fprintln(conn, "status")
	req := <-s.Requests()
	if req.Line != "status" || req.ID == 0 {
		t.Fatalf("request %+v", req)
	}
	s.Reply(req.ID, "RAYOS_HOST_ACK:status:ok:fine")
	if line, _ := r.ReadString('\n'); line != "RAYOS_HOST_ACK:status:ok:fine\n" {
		t.Errorf("answer %q", line)
	}
	fmt.Fprintln(conn, strings.Repeat("a", guests.MaxControlLine+10))
	if line, _ := r.ReadString('\n'); !strings.Contains(line, ":err:request longer than 4096 bytes") {
		t.Errorf("over-long line: %q", line)
	}
	fmt.Fprintln(conn, "status\x00")
	if line, _ := r.ReadString('\n'); !strings.Contains(line, ":err:request has control characters") {
		t.Errorf("binary line: %q", line)
	}
	// A request still waiting when the server closes gets an err answer.
	fmt.Fprintln(conn, "present linux")
	<-s.Requests()
	s.Close()
	if line, _ := r.ReadString('\n'); line != "RAYOS_HOST_ACK:present:err:RayOS shut down before the request completed\n" {
		t.Errorf("pending at close: %q", line)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("socket file left behind")
	}
}

// Close answers what it has read: a request the world holds gets "shut
// down before it completed", one read but not yet handed over (the client
// was at its outstanding cap) "shutting down"; then the connection closes.
func TestControlCloseAnswersEveryRequestItRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := guests.ListenControlWith(path, guests.ControlOptions{MaxOutstanding: 1})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "present linux\nhide linux\n") // one write: RayOS reads both lines at once
	if req := <-s.Requests(); req.Line != "present linux" {
		t.Fatalf("request %+v", req)
	}
	s.Close()
	r := bufio.NewReader(conn)
	for _, want := range []string{
		"RAYOS_HOST_ACK:present:err:RayOS shut down before the request completed\n",
		"RAYOS_HOST_ACK:hide:err:RayOS is shutting down; try again\n",
	} {
		if line, err := r.ReadString('\n'); line != want {
			t.Errorf("%q, %v; want %q", line, err, want)
		}
	}
	if line, err := r.ReadString('\n'); err == nil {
		t.Errorf("after the answers: %q; want the connection closed", line)
	}
}
