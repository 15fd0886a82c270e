package viewer_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rayos/engine/boot/viewer"
)

// A non-loopback address is refused unless remote access is allowed, and
// the error names the flags; nothing listens.
func TestNonLoopbackBindNeedsTheFlag(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:7777", ":7777", "[::]:7777", "192.0.2.10:7777"} {
		cfg := viewer.Config{Addr: addr}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), viewer.FlagRemote) || !strings.Contains(err.Error(), viewer.FlagAddr) {
			t.Errorf("%s: %v, want a refusal naming %s and %s", addr, err, viewer.FlagAddr, viewer.FlagRemote)
		}
		if srv, err := viewer.New(cfg, viewer.ModeLive); err == nil {
			srv.Close()
			t.Errorf("%s: New listened", addr)
		}
		cfg.AllowRemote = true
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s with %s: %v", addr, viewer.FlagRemote, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:7777", "localhost:0", "[::1]:7777", "127.0.0.2:0"} {
		cfg := viewer.Config{Addr: addr}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v, want accepted (loopback)", addr, err)
		}
	}
	for addr, want := range map[string]string{
		"127.0.0.1":          "want IP:PORT",
		"rayos.example:7777": "not an IP address",
		"127.0.0.1:http":     "not a number",
		"127.0.0.1:70000":    "not a number",
	} {
		cfg := viewer.Config{Addr: addr, AllowRemote: true}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), viewer.FlagAddr) {
			t.Errorf("%s: %v, want %q naming %s", addr, err, want, viewer.FlagAddr)
		}
	}
	if cfg := (viewer.Config{Addr: "127.0.0.1:0", Token: "short"}); cfg.Validate() == nil {
		t.Error("a 5-character token was accepted")
	}
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if host := header.Get("Host"); host != "" {
		req.Host = host // Go sends req.Host, not a Host header
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// With remote access allowed, every request — page, assets, WebSocket,
// metrics — needs the token; a wrong one is refused everywhere.
func TestRemoteViewerNeedsTheTokenOnEveryRequest(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{AllowRemote: true})
	base := "http://" + h.srv.Addr()
	tok := h.srv.Token()
	if len(tok) < 32 {
		t.Fatalf("token %q: fewer than 128 bits", tok)
	}
	for _, path := range []string{"/", "/assets/app.js", "/assets/app.css", "/metrics", "/ws"} {
		resp, body := get(t, base+path, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "token required") {
			t.Errorf("%s without a token: %d %q", path, resp.StatusCode, body)
		}
		resp, body = get(t, base+path+"?token=0123456789abcdef0123456789abcdef", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "wrong token") {
			t.Errorf("%s with a wrong token: %d %q", path, resp.StatusCode, body)
		}
		if path == "/ws" {
			continue
		}
		resp, _ = get(t, base+path, http.Header{"Authorization": {"Bearer " + tok}})
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s with the token as a Bearer header: %d", path, resp.StatusCode)
		}
	}
	// The page with ?token= sets a cookie that carries the token for the
	// page's own requests.
	resp, body := get(t, base+"/?token="+tok, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="frame"`) {
		t.Fatalf("page with the token: %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "rayos_viewer_") {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != tok || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", cookie)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("the page may leak its URL (and token) as a Referer")
	}
	resp, _ = get(t, base+"/assets/app.js", http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("asset with the cookie: %d", resp.StatusCode)
	}
	// The WebSocket with the cookie alone, as the page connects (its
	// WebSocket URL holds no token: a URL ends up in the browser's console
	// errors; the browser test TestBrowserViewer/TokenLeavesTheURLs).
	cc, resp, err := dialRaw(t, h.srv, "", &websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}})
	if err != nil {
		t.Fatalf("websocket with the cookie: %v %v", err, resp)
	}
	var byCookie viewer.Hello
	cc.awaitType(viewer.OutHello).decode(t, &byCookie)
	if !byCookie.Authorized {
		t.Errorf("websocket with the cookie: hello %+v, want authorized", byCookie)
	}
	// The WebSocket: refused without the token, authorized with it.
	if _, resp, err := dialRaw(t, h.srv, "", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("websocket without the token: %v %v", err, resp)
	}
	c := dial(t, h.srv, tok)
	var hello viewer.Hello
	c.awaitType(viewer.OutHello).decode(t, &hello)
	if !hello.Authorized || !hello.Remote {
		t.Errorf("hello %+v", hello)
	}
}

// A loopback-only viewer answers only to loopback host names: a web page
// elsewhere that rebinds its own name to 127.0.0.1 is refused.
func TestLoopbackViewerRefusesOtherHostNames(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{})
	base := "http://" + h.srv.Addr()
	resp, body := get(t, base+"/", http.Header{"Host": {"rebind.example:7777"}})
	if resp.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(body, "not a loopback name") {
		t.Errorf("Host rebind.example: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, base+"/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("Host %s: %d", h.srv.Addr(), resp.StatusCode)
	}
	// A WebSocket from another origin is refused (the handshake is not
	// subject to CORS).
	_, resp, err := dialRaw(t, h.srv, "", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin websocket: %v %v", err, resp)
	}
}

// Clients beyond the limit are refused with a close frame that says so;
// the others are untouched, and a place that frees up can be taken.
func TestClientLimit(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{MaxClients: 2})
	a, b := dial(t, h.srv, ""), dial(t, h.srv, "")
	a.awaitType(viewer.OutHello)
	b.awaitType(viewer.OutHello)
	c := dial(t, h.srv, "")
	code, reason := c.closeStatus()
	if code != websocket.StatusTryAgainLater || reason != "too many viewer clients (limit 2); try again later" {
		t.Errorf("third client closed with %d %q", code, reason)
	}
	h.tick()
	a.awaitType(viewer.OutState)
	b.conn.Close(websocket.StatusNormalClosure, "")
	// The place frees once the server has seen b go.
	for deadline := time.Now().Add(patience); ; {
		if time.Now().After(deadline) {
			t.Fatal("no place freed after a client left")
		}
		d, _, err := dialRaw(t, h.srv, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := d.next(); err == nil && m.T == viewer.OutHello {
			break
		}
	}
}

// /debug/pprof is served only with --debug.
func TestPprofOnlyWithDebug(t *testing.T) {
	h := newHarness(t, "demo", viewer.Config{Debug: true})
	resp, body := get(t, "http://"+h.srv.Addr()+"/debug/pprof/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ with --debug: %d", resp.StatusCode)
	}
}

// The URL with the token goes to stderr only when there is no token file
// to read it from (or stderr is a terminal): a service's stderr ends up
// in a persistent journal.
func TestAnnounceKeepsTheTokenOutOfAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := viewer.New(viewer.Config{Addr: "127.0.0.1:0", Logger: quiet, Notice: w}, viewer.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Announce("data/viewer.token")
	srv.Announce("")
	w.Close()
	out, _ := io.ReadAll(r)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%q", out)
	}
	if strings.Contains(lines[0], srv.Token()) || !strings.Contains(lines[0], "the token is in data/viewer.token") {
		t.Errorf("with a token file, into a pipe: %q", lines[0])
	}
	if lines[1] != "rayos: viewer at "+srv.URL()+"?token="+srv.Token() {
		t.Errorf("without a token file: %q", lines[1])
	}
}
