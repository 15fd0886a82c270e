package tests

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"
	"github.com/rayos/engine/world/marker"
)

// A viewer on a non-loopback address without --viewer-allow-remote, and
// the viewer's flags without --viewer, are bad usage: exit 2, the flag
// named, nothing written.
func TestViewerBadFlagsAreRefusedBeforeAnythingIsWritten(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--viewer", "0.0.0.0:7777"}, "--viewer \"0.0.0.0:7777\": not a loopback address: the viewer would be reachable from other machines; add --viewer-allow-remote"},
		{[]string{"--viewer", "[::]:7777"}, "add --viewer-allow-remote"},
		{[]string{"--viewer", "rayos.example:7777", "--viewer-allow-remote"}, "is not an IP address"},
		{[]string{"--viewer", "127.0.0.1:port"}, "port \"port\" is not a number"},
		{[]string{"--debug"}, "--debug needs --viewer ADDR"},
		{[]string{"--viewer-allow-remote"}, "--viewer-allow-remote needs --viewer ADDR"},
		{[]string{"--viewer", "127.0.0.1:0", "--viewer-token-file", "no/such/folder/token"}, "--viewer-token-file no/such/folder/token: folder no/such/folder does not exist"},
	} {
		r := rayos(t, dir, append([]string{"boot", "--data", "data", "--ticks", "1"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
		if r.stdout != "" {
			t.Errorf("%v: printed markers %q", c.args, r.stdout)
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
			t.Fatalf("%v: RAYOS_DATA was created", c.args)
		}
	}
}

// rayos boot --viewer announces the viewer with a marker (never the
// token), writes the token to RAYOS_DATA/viewer.token for its owner only,
// serves the page, takes actions with the token like rayos ctl, and
// removes the token file when it stops.
func TestBootServesTheViewer(t *testing.T) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--hz", "200", "--viewer", "127.0.0.1:0")
	out := r.output()
	m := regexp.MustCompile(`(?m)^RAYOS_BOOT:viewer:host=127\.0\.0\.1 port=(\d+) remote=false debug=false$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no viewer marker:\n%s", out)
	}
	if !regexp.MustCompile(`RAYOS_BOOT:gpu:[^\n]*\nRAYOS_BOOT:viewer:[^\n]*\nRAYOS_BOOT:world:`).MatchString(out) {
		t.Errorf("the viewer marker is not between gpu and world:\n%s", out)
	}
	addr := "127.0.0.1:" + m[1]
	tokenFile := filepath.Join(dir, "data", "viewer.token")
	info, err := os.Stat(tokenFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", info, err)
	}
	raw, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(raw))
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("token %q: want 128 bits as hex", token)
	}
	// stderr is not a terminal here: it says where the token is, not what.
	line := r.waitStderr(t, "rayos: viewer at http://"+addr+"/")
	if strings.Contains(line, token) || !strings.Contains(line, "data/viewer.token") {
		t.Errorf("stderr line %q: want the token file named and the token left out", line)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /: %v %v", resp, err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), runCeiling)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	r.waitFor(t, "RAYOS_GUEST:linux:hidden")
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"t":"action","id":1,"op":"present","arg":"linux"}`)); err != nil {
		t.Fatal(err)
	}
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("no ACK: %v", err)
		}
		var ack struct {
			T      string
			ID     int
			Notice bool
			Line   string
		}
		if typ != websocket.MessageText || json.Unmarshal(data, &ack) != nil || ack.T != "ack" || ack.Notice {
			continue
		}
		if ack.ID != 1 || ack.Line != "RAYOS_HOST_ACK:present:ok:presented" {
			t.Fatalf("ack %+v", ack)
		}
		break
	}
	r.waitFor(t, "RAYOS_GUEST:linux:presented")
	r.cmd.Process.Signal(syscall.SIGTERM)
	if code := r.exit(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, r.stderr.String())
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file left behind: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "data", "logs", "markers.log"))
	for _, where := range []string{string(log), r.output(), r.stderr.String()} {
		if strings.Contains(where, token) {
			t.Errorf("the token leaked into the markers or the diagnostics")
		}
	}
	for _, l := range lines(r.output()) {
		if _, err := marker.Parse(l); err != nil {
			t.Errorf("%q: %v", l, err)
		}
	}
}

// startView starts `rayos view ARGS…` and returns it with the page's
// address, read from its stderr.
func startView(t *testing.T, dir string, args ...string) (*running, string) {
	t.Helper()
	r := launch(t, dir, exec.Command(rayosBin, append([]string{"view", "--viewer", "127.0.0.1:0"}, args...)...))
	line := r.waitStderr(t, "rayos: viewer at http://")
	m := regexp.MustCompile(`http://([0-9.]+:\d+)/`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in %q", line)
	}
	return r, m[1]
}

// hello connects to a viewer and returns its hello message and first state.
func hello(t *testing.T, addr, token string) (mode string, state map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runCeiling)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(-1)
	for state == nil {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if typ != websocket.MessageText || json.Unmarshal(data, &m) != nil {
			continue
		}
		switch m["t"] {
		case "hello":
			mode, _ = m["mode"].(string)
		case "state":
			state = m
		}
	}
	return mode, state
}

// rayos view serves a snapshot and a journal offline; the token goes to
// --viewer-token-file, and SIGINT ends it with status 0.
func TestViewSnapshotAndJournal(t *testing.T) {
	dir := t.TempDir()
	if r := rayos(t, dir, "boot", "--data", "data", "--gpu", "cpu", "--hz", "1000", "--ticks", "40",
		"--record", "run.jsonl", "--snapshot", "world.json"); r.code != 0 {
		t.Fatalf("boot: exit %d\n%s", r.code, r.stderr)
	}
	for _, c := range []struct{ file, mode string }{{"world.json", "snapshot"}, {"run.jsonl", "journal"}} {
		r, addr := startView(t, dir, c.file, "--viewer-token-file", c.mode+".token")
		raw, err := os.ReadFile(filepath.Join(dir, c.mode+".token"))
		if err != nil {
			t.Fatal(err)
		}
		mode, state := hello(t, addr, strings.TrimSpace(string(raw)))
		if mode != c.mode {
			t.Errorf("%s: mode %q", c.file, mode)
		}
		want := map[string]float64{"snapshot": 40, "journal": 0}[c.mode]
		if state["tick"] != want || state["scene"] != "demo" {
			t.Errorf("%s: state at tick %v of scene %v, want %v of demo", c.file, state["tick"], state["scene"], want)
		}
		resp, err := http.Get("http://" + addr + "/assets/app.js")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: GET app.js: %v %v", c.file, resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "window.rayos") {
			t.Errorf("%s: app.js is not the page's script", c.file)
		}
		r.cmd.Process.Signal(syscall.SIGINT)
		if code := r.exit(t); code != 0 {
			t.Errorf("%s: exit %d\n%s", c.file, code, r.stderr.String())
		}
	}
	if r := rayos(t, dir, "view", "no-such-file.json"); r.code != 2 || !strings.Contains(r.stderr, "no-such-file.json") {
		t.Errorf("view of a missing file: exit %d, %q", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "junk.json"), []byte("junk"), 0o644)
	if r := rayos(t, dir, "view", "junk.json"); r.code != 2 || !strings.Contains(r.stderr, "junk.json: not a RayOS world snapshot") {
		t.Errorf("view of junk: exit %d, %q", r.code, r.stderr)
	}
}
