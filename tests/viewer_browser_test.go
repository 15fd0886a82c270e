package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The viewer in a real browser: Debian's headless Chromium, driven over
// the DevTools protocol by chromedp, against the real rayos binary. One
// browser serves every subtest (it starts in about half a second); each
// subtest opens its own tab on its own rayos.
//
//	go test ./tests -run Browser
func TestBrowserViewer(t *testing.T) {
	b := startBrowser(t)
	t.Run("PageLoadsWithoutConsoleErrors", func(t *testing.T) { pageLoadsWithoutConsoleErrors(t, b) })
	t.Run("EntityCountIsTheWorlds", func(t *testing.T) { entityCountIsTheWorlds(t, b) })
	t.Run("MarkerReachesTheTimeline", func(t *testing.T) { markerReachesTheTimeline(t, b) })
	t.Run("FrameIsTheComposedFrame", func(t *testing.T) { frameIsTheComposedFrame(t, b) })
	t.Run("PresentFromThePageIsPresentFromCtl", func(t *testing.T) { presentFromThePageIsPresentFromCtl(t, b) })
	t.Run("RemoteViewerRefusesThePageWithoutToken", func(t *testing.T) { remoteViewerRefusesThePageWithoutToken(t, b) })
	t.Run("TokenLeavesTheURLs", func(t *testing.T) { tokenLeavesTheURLs(t, b) })
	t.Run("ScreenshotIsKept", func(t *testing.T) { screenshotIsKept(t, b) })
}

// browserFlags are the flags Chromium runs with here (issue 10), and
// nothing else: chromedp adds only the user data folder, the DevTools
// pipe and about:blank.
var browserFlags = []string{"headless", "no-sandbox", "disable-gpu", "disable-background-networking",
	"disable-component-update", "disable-sync", "no-first-run"}

// browserWait bounds every wait on the page: a guard against a hang, not
// a timing assertion.
const browserWait = 15 * time.Second

// viewport is the size of every tab, so of the screenshot.
const viewportW, viewportH = 1280, 900

// startBrowser starts headless Chromium with a fresh profile under the
// test's temporary folder; the test's cleanup stops it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium on PATH (%v): run `make deps`, which installs Debian's chromium package", err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir())}
	for _, f := range browserFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	var out syncBuffer
	opts = append(opts, chromedp.CombinedOutput(&out))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Closing the browser before the temporary folder is removed: cleanups
	// run last-registered first, and TempDir's was registered above.
	t.Cleanup(func() { cancel(); acancel() })
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", path, err, out.String())
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	return ctx
}

// page is one tab. It records what the page reports as an error: a
// console.error or console.assert call, an uncaught exception (or an
// unhandled rejection), and an error entry of the browser's log (a failed
// load, a refused Content-Security-Policy); and every URL it requests.
// (chromedp.Listen is v0.23's name for ListenTarget.)
type page struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
	urls   []string // every URL the page requested (HTTP and WebSocket)
}

// openTab opens a tab in the browser, closed by the test's cleanup.
func openTab(t *testing.T, browser context.Context) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	p := &page{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, remoteText(a))
				}
				p.errors = append(p.errors, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			p.errors = append(p.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				p.errors = append(p.errors, fmt.Sprintf("browser log (%s): %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			p.urls = append(p.urls, e.Request.URL)
		case *network.EventWebSocketCreated:
			p.urls = append(p.urls, e.URL)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	p.do(t, chromedp.EmulateViewport(viewportW, viewportH))
	return p
}

func remoteText(o *runtime.RemoteObject) string {
	var s string
	if o.Type == runtime.RemoteObjectTypeString && json.Unmarshal(o.Value, &s) == nil {
		return s
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Value)
}

// consoleErrors is what the page reported as an error so far.
func (p *page) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.errors)
}

// requested is every URL the page asked for so far.
func (p *page) requested() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.urls)
}

// do runs actions in the tab, within browserWait.
func (p *page) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v\npage errors: %q", err, p.consoleErrors())
	}
}

// eval evaluates a JavaScript expression in the page and decodes its
// value into T.
func eval[T any](t *testing.T, p *page, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits (browserWait at most, checking every 20 ms) for a page
// function of args to return a truthy value, and decodes it into T.
func poll[T any](t *testing.T, p *page, what, fn string, args ...any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, browserWait+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.PollFunction[T](fn, chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(browserWait), chromedp.WithPollingArgs(args...)))
	if err != nil {
		state := eval[string](t, p, `JSON.stringify({conn: document.getElementById('conn').textContent, error: document.getElementById('error').textContent, frame: window.rayos && rayos.frame, tick: window.rayos && rayos.state && rayos.state.tick})`)
		t.Fatalf("waiting for %s: %v\npage: %s\npage errors: %q", what, err, state, p.consoleErrors())
	}
	return v
}

// startViewer boots the demo world at seed 1 with the viewer on a free
// loopback port, and returns it with the viewer's address.
func startViewer(t *testing.T, dir string, args ...string) (*running, string) {
	t.Helper()
	r := startRayos(t, dir, append([]string{"--seed", "1", "--viewer", "127.0.0.1:0"}, args...)...)
	return r, viewerAddr(t, r)
}

// viewerAddr reads the viewer's address from its marker.
func viewerAddr(t *testing.T, r *running) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^RAYOS_BOOT:viewer:host=(\S+) port=(\d+) `).FindStringSubmatch(r.output())
	if m == nil {
		t.Fatalf("no viewer marker:\n%s", r.output())
	}
	host, err := url.PathUnescape(m[1]) // a marker field escapes ':' (docs/markers.md)
	ip, perr := netip.ParseAddr(host)
	if err != nil || perr != nil {
		t.Fatalf("viewer marker host %q: %v %v", m[1], err, perr)
	}
	if ip.IsUnspecified() { // listening everywhere: loopback too
		ip = netip.MustParseAddr("127.0.0.1")
	}
	return net.JoinHostPort(ip.String(), m[2])
}

// viewerToken reads RAYOS_DATA/viewer.token (docs/viewer.md): the way a
// user on the machine gets the token.
func viewerToken(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "data", "viewer.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

// openViewer opens the page with the token in a new tab and waits until
// it is connected, authorized, and shows the world and its frame.
func openViewer(t *testing.T, browser context.Context, addr, token string) *page {
	t.Helper()
	p := openTab(t, browser)
	p.do(t, chromedp.Navigate("http://"+addr+"/?token="+token))
	poll[bool](t, p, "the page connected with the world and its frame", `() =>
		document.querySelector('#conn').dataset.state === 'open' &&
		document.querySelector('#auth-state').dataset.authorized === 'true' &&
		rayos.state !== null && rayos.frame.version > 0`)
	return p
}

// The page loads, connects, shows the live world and keeps up with it —
// with the entity browser and the placement map in use — without a
// console error, an uncaught exception or a failed load.
func pageLoadsWithoutConsoleErrors(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	_, addr := startViewer(t, dir)
	token := viewerToken(t, dir)
	p := openTab(t, browser)
	start := time.Now()
	p.do(t, chromedp.Navigate("http://"+addr+"/?token="+token))
	loaded := time.Since(start)
	first := poll[map[string]float64](t, p, "the first frame", `() => rayos.frame.version > 0 && rayos.state &&
		{tick: rayos.state.tick, version: rayos.frame.version}`)
	framed := time.Since(start)
	// Some live updates: ten state messages' worth of ticks (one every
	// 100 ms at 60 Hz).
	poll[bool](t, p, "60 more ticks", `(from) => rayos.state.tick >= from + 60`, first["tick"])
	// The entity browser: a page of guests, then one guest's components.
	p.do(t, chromedp.SetValue(chromedp.ID("entity-kind"), "Guest"), chromedp.Click(chromedp.ID("entity-go")))
	poll[bool](t, p, "the guests in the entity browser", `() => document.querySelectorAll('#entity-list tbody tr[data-entity]').length === 2`)
	p.do(t, chromedp.Click(chromedp.CSS("#entity-list tbody tr[data-entity]")))
	detail := poll[string](t, p, "an entity's components", `() => document.querySelector('#entity-detail').textContent`)
	if !strings.Contains(detail, `"Guest"`) {
		t.Errorf("entity detail %q: want its Guest component", detail)
	}
	// The placement map, coloured the other way.
	p.do(t, chromedp.SetValue(chromedp.ID("placement-colour"), "temperature"))
	poll[bool](t, p, "the placement map", `() => rayos.placement && rayos.placement.devices.length > 0`)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("the page reported %d error(s):\n%s", len(errs), strings.Join(errs, "\n"))
	}
	if e := eval[string](t, p, `document.querySelector('#error').hidden ? '' : document.querySelector('#error').textContent`); e != "" {
		t.Errorf("the page shows an error: %q", e)
	}
	// Everything the page loads comes from the viewer itself: no CDN, no
	// font service, nothing outside this machine.
	for _, u := range p.requested() {
		if !strings.HasPrefix(u, "http://"+addr+"/") && !strings.HasPrefix(u, "ws://"+addr+"/") {
			t.Errorf("the page requested %q, outside the viewer at %s", u, addr)
		}
	}
	t.Logf("page loaded (load event) in %v, first frame shown after %v", loaded.Round(time.Millisecond), framed.Round(time.Millisecond))
}

// The entity count the page shows is the world's: the demo world's
// population is static, so the count on the page, and each kind's row,
// equal those of the snapshot rayos writes when SIGTERM stops it — less
// the one entity the page could not have seen: the SIGTERM itself, an
// Input entity that lives only for the shutdown tick (systems/input), the
// tick after which the snapshot is taken.
func entityCountIsTheWorlds(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r, addr := startViewer(t, dir, "--snapshot", "world.json")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=windows") // both guests started
	p := openViewer(t, browser, addr, viewerToken(t, dir))
	// A state from well after both guests started: the intents that
	// started them are entities too, for a tick or so.
	started := poll[float64](t, p, "both guests started", `() =>
		document.querySelectorAll('#guests td.state[data-state="hidden"]').length === 2 && rayos.state.tick`)
	shown := poll[struct {
		Count int            `json:"count"`
		Kinds map[string]int `json:"kinds"`
	}](t, p, "the entity count", `(after) => {
		if (Number(document.querySelector('#tick').dataset.tick) < after) return false;
		const kinds = {};
		for (const tr of document.querySelectorAll('#kinds tr[data-kind]')) kinds[tr.dataset.kind] = Number(tr.cells[1].textContent);
		return {count: Number(document.querySelector('#entity-count').dataset.count), kinds};
	}`, started+30)
	r.stop(t)
	raw, err := os.ReadFile(filepath.Join(dir, "world.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Entities []struct {
			Components map[string]json.RawMessage `json:"components"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	count, kinds := 0, map[string]int{}
	var inputs []string
	for _, e := range snap.Entities {
		if in, ok := e.Components["Input"]; ok {
			inputs = append(inputs, string(in))
			var signal struct {
				Text string `json:"text"`
			}
			if len(e.Components) == 1 && json.Unmarshal(in, &signal) == nil && signal.Text == "SIGTERM" {
				continue
			}
		}
		count++
		for name := range e.Components {
			kinds[name]++
		}
	}
	if len(inputs) != 1 || count != len(snap.Entities)-1 {
		t.Errorf("the snapshot's inputs %s: want one, the SIGTERM", inputs)
	}
	if shown.Count != count || shown.Count == 0 {
		t.Errorf("the page shows %d entities; the world's snapshot has %d (and the SIGTERM input)", shown.Count, count)
	}
	// The page lists the kinds that have entities.
	if fmt.Sprint(shown.Kinds) != fmt.Sprint(kinds) {
		t.Errorf("entities per kind: the page shows %v; the snapshot has %v", shown.Kinds, kinds)
	}
	t.Logf("%d entities, per kind %v", shown.Count, shown.Kinds)
}

// A marker the engine emits for a request from outside the page (rayos
// ctl present/hide over the control socket) appears in the page's
// timeline as its exact line. The time from the request to the line in
// the page's DOM is measured and logged (docs/viewer.md, Figures), not
// asserted: the deadline is only a guard against a hang.
func markerReachesTheTimeline(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r, addr := startViewer(t, dir)
	r.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
	p := openViewer(t, browser, addr, viewerToken(t, dir))
	// The page's clock notes when each marker line enters the timeline.
	eval[chromedp.Void](t, p, `(() => {
		window.seen = [];
		new MutationObserver((muts) => {
			const at = Date.now();
			for (const m of muts) for (const n of m.addedNodes) if (n.nodeType === 1) seen.push({line: n.textContent, seq: Number(n.dataset.seq), at});
		}).observe(document.querySelector('#markers'), {childList: true});
	})()`)
	var latencies, ctlTimes []time.Duration
	for round := range 5 {
		for _, op := range []string{"present", "hide"} {
			want := "RAYOS_HOST_EVENT_V0:" + op + ":windows"
			sent := time.Now()
			res := rayos(t, dir, "ctl", "--data", "data", op, "windows")
			if res.code != 0 {
				t.Fatalf("round %d: ctl %s windows: exit %d %s%s", round, op, res.code, res.stdout, res.stderr)
			}
			ctlTimes = append(ctlTimes, time.Since(sent))
			at := poll[float64](t, p, want+" in the timeline", `(line, since) => {
				const s = seen.find((s) => s.line === line && s.at >= since);
				return s ? s.at : false;
			}`, want, sent.UnixMilli())
			latencies = append(latencies, time.UnixMilli(int64(at)).Sub(sent.Truncate(time.Millisecond)))
		}
	}
	// The newest line heads the list, with its tick and sequence number.
	top := eval[map[string]string](t, p, `(() => { const li = document.querySelector('#markers li'); return {line: li.textContent, kind: li.dataset.kind, tick: li.dataset.tick}; })()`)
	if !strings.HasPrefix(top["line"], "RAYOS_") || top["kind"] == "" || top["tick"] == "" {
		t.Errorf("newest timeline entry %v", top)
	}
	frames := eval[map[string]float64](t, p, `rayos.frame`)
	slices.Sort(latencies)
	slices.Sort(ctlTimes)
	t.Logf("request (rayos ctl) → marker line in the page's timeline, %d samples: min %v, median %v, max %v "+
		"(rayos ctl's own run, to its ACK and exit: median %v); the page got %.0f frame messages, %.0f bytes",
		len(latencies), latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1],
		ctlTimes[len(ctlTimes)/2].Round(time.Millisecond), frames["deltas"], frames["bytes"])
}

// frameJS reads canvas#frame's pixels (RGBA, row by row) as base64, with
// the frame version the page says it applied.
const frameJS = `(() => {
	const c = document.querySelector('#frame');
	const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
	let s = '';
	for (let i = 0; i < px.length; i += 0x8000) s += String.fromCharCode.apply(null, px.subarray(i, i + 0x8000));
	return {width: c.width, height: c.height, version: Number(document.querySelector('#frame-info').dataset.version), pixels: btoa(s)};
})()`

// The frame on the page equals the compositor's output pixel for pixel:
// once the page has applied the frame version the world's state names,
// and the world has not recomposed for a second (focus follows gaze two
// ticks behind, so a world that just started may still recompose),
// canvas#frame's pixels are the PNG that rayos --frame writes at exit.
func frameIsTheComposedFrame(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r, addr := startViewer(t, dir, "--frame", "frame.png")
	r.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
	p := openViewer(t, browser, addr, viewerToken(t, dir))
	settled := poll[map[string]float64](t, p, "a settled frame", `() => {
		const s = rayos.state, v = Number(document.querySelector('#frame-info').dataset.version);
		if (!s || !v || v !== s.frame.version) return false;
		const w = window.settle || (window.settle = {version: 0, tick: 0});
		if (w.version !== v) { w.version = v; w.tick = s.tick; return false; }
		return s.tick - w.tick >= 60 && {version: v, tick: s.tick, deltas: rayos.frame.deltas, bytes: rayos.frame.bytes};
	}`)
	var shown struct {
		Width, Height int
		Version       float64
		Pixels        string
	}
	shown = eval[struct {
		Width, Height int
		Version       float64
		Pixels        string
	}](t, p, frameJS)
	if shown.Version != settled["version"] {
		t.Fatalf("the frame changed while it was read: version %v, then %v", settled["version"], shown.Version)
	}
	// The page shows the last composition's statistics as the state has
	// them: its tick and the pixels it recomposed (at least one tile's
	// worth: the world has composed, and only whole tiles are recomposed).
	stats := eval[map[string]float64](t, p, `(() => {
		const lc = rayos.state.gpu.last_compose, d = document.querySelector('#gpu-info').dataset;
		return {tick: lc.tick, pixels: lc.pixels, tiles: lc.tiles, shownTick: Number(d.composeTick), shownPixels: Number(d.composePixels)};
	})()`)
	if stats["tick"] == 0 || stats["pixels"] < 1 || stats["shownTick"] != stats["tick"] || stats["shownPixels"] != stats["pixels"] {
		t.Errorf("last composition: state %v; the page shows tick %v, %v pixels", stats, stats["shownTick"], stats["shownPixels"])
	}
	r.stop(t)
	got, err := base64.StdEncoding.DecodeString(shown.Pixels)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "frame.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want := image.NewRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			want.Set(x, y, img.At(x, y))
		}
	}
	if shown.Width != want.Rect.Dx() || shown.Height != want.Rect.Dy() || len(got) != len(want.Pix) {
		t.Fatalf("the page's frame is %d×%d (%d bytes); the composed frame %v", shown.Width, shown.Height, len(got), want.Rect.Size())
	}
	if i := firstDifference(got, want.Pix); i >= 0 {
		px := i / 4
		t.Fatalf("the page's frame differs from the composed frame: %d of %d pixels, the first at (%d, %d): page %v, compositor %v",
			countDifferences(got, want.Pix), len(got)/4, px%shown.Width, px/shown.Width, got[px*4:px*4+4], want.Pix[px*4:px*4+4])
	}
	t.Logf("frame version %.0f (%d×%d) equals the composed frame; the page received %.0f frame messages, %.0f bytes",
		shown.Version, shown.Width, shown.Height, settled["deltas"], settled["bytes"])
}

func firstDifference(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func countDifferences(a, b []byte) int {
	n := 0
	for i := 0; i < len(a); i += 4 {
		if !bytes.Equal(a[i:i+4], b[i:i+4]) {
			n++
		}
	}
	return n
}

// Presenting linux from the page's button produces the markers rayos ctl
// present linux produces: two identical boots, one presented from a
// shell, the other from the page, print the same marker stream. The ACK
// the page shows is the line ctl printed.
func presentFromThePageIsPresentFromCtl(t *testing.T, browser context.Context) {
	run := func(present func(dir, addr string) string) []string {
		dir := t.TempDir()
		r, addr := startViewer(t, dir)
		r.waitFor(t, "RAYOS_AUDIT:start:guest=windows")
		ack := present(dir, addr)
		r.waitFor(t, "RAYOS_HOST_ACK:present:")
		r.stop(t)
		if !strings.HasPrefix(ack, "RAYOS_HOST_ACK:present:ok") {
			t.Errorf("ACK %q", ack)
		}
		return normaliseRun(r.output())
	}
	var fromCtl, fromPage string
	ctl := run(func(dir, _ string) string {
		res := rayos(t, dir, "ctl", "--data", "data", "present", "linux")
		if res.code != 0 {
			t.Fatalf("ctl present linux: exit %d %s%s", res.code, res.stdout, res.stderr)
		}
		fromCtl = strings.TrimSpace(res.stdout)
		return fromCtl
	})
	page := run(func(dir, addr string) string {
		p := openViewer(t, browser, addr, viewerToken(t, dir))
		p.do(t, chromedp.Click(chromedp.CSS(`button[data-action=present][data-guest=linux]`)))
		fromPage = poll[string](t, p, "the ACK on the page", `() => {
			const li = document.querySelector('#acks li[data-notice="false"]');
			return li && li.textContent;
		}`)
		poll[bool](t, p, "linux presented on the page", `() => document.querySelector('#guests tr[data-guest=linux] td.presented').dataset.presented === 'true'`)
		return fromPage
	})
	if fromPage != fromCtl {
		t.Errorf("the page's ACK %q; ctl printed %q", fromPage, fromCtl)
	}
	if !slices.Contains(ctl, "RAYOS_HOST_EVENT_V0:present:linux") || !slices.Contains(ctl, "RAYOS_GUEST:linux:presented") {
		t.Errorf("ctl's run has no present:\n%s", strings.Join(ctl, "\n"))
	}
	if strings.Join(ctl, "\n") != strings.Join(page, "\n") {
		t.Errorf("markers differ\nctl present linux:\n%s\n\npresent from the page:\n%s", strings.Join(ctl, "\n"), strings.Join(page, "\n"))
	}
}

// normaliseRun takes out of a run's markers what differs between two runs
// of the same world, and only that: the viewer's port (a free one, picked
// at each start) and the tick at which SIGTERM arrived (wall-clock time).
func normaliseRun(out string) []string {
	port := regexp.MustCompile(` port=\d+ `)
	tick := regexp.MustCompile(`^(RAYOS_BOOT:shutdown:reason=signal-SIGTERM) tick=\d+$`)
	var ls []string
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "RAYOS_AUDIT:pin:") || strings.HasPrefix(l, "RAYOS_SCHED:") {
			// The guests' vCPUs are placed a few ticks after they start,
			// and pinned off the tick: where those markers fall among the
			// request's depends on the tick the page acted at (and the
			// machine's CPUs), not on how the request was made.
			continue
		}
		l = port.ReplaceAllString(l, " port=PORT ")
		l = tick.ReplaceAllString(l, "$1 tick=N")
		ls = append(ls, l)
	}
	return ls
}

// With --viewer-allow-remote every request needs the token: the browser
// opening the page without it gets 401 and the refusal in words, not the
// page; with a wrong one 403; with the token the page loads and connects.
// (A non-loopback --viewer without the flag is refused before anything is
// written: TestViewerBadFlagsAreRefusedBeforeAnythingIsWritten.)
func remoteViewerRefusesThePageWithoutToken(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r := startRayos(t, dir, "--viewer", "0.0.0.0:0", "--viewer-allow-remote")
	if !strings.Contains(r.output(), " remote=true ") {
		t.Fatalf("viewer marker without remote=true:\n%s", r.output())
	}
	addr := viewerAddr(t, r)
	token := viewerToken(t, dir)
	p := openTab(t, browser)
	for _, c := range []struct {
		query  string
		status int64
		says   string
	}{
		{"", 401, "viewer: token required"},
		{"?token=" + strings.Repeat("0", 32), 403, "viewer: wrong token"},
	} {
		ctx, cancel := context.WithTimeout(p.ctx, browserWait)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse("http://"+addr+"/"+c.query))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		body := eval[string](t, p, `document.body.innerText`)
		if resp.Status != c.status || !strings.Contains(body, c.says) || strings.Contains(body, "RayOS viewer") {
			t.Errorf("page %q: HTTP %d, %q; want %d and %q", c.query, resp.Status, body, c.status, c.says)
		}
		if n := eval[int](t, p, `document.querySelectorAll('#frame, script').length`); n != 0 {
			t.Errorf("page %q: the refusal holds the page (%d elements)", c.query, n)
		}
	}
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse("http://"+addr+"/?token="+token))
	cancel()
	if err != nil || resp.Status != 200 {
		t.Fatalf("page with the token: %v %v", resp, err)
	}
	poll[bool](t, p, "the remote page connected", `() =>
		document.querySelector('#conn').dataset.state === 'open' && rayos.hello && rayos.hello.remote &&
		rayos.frame.version > 0 && document.querySelector('#auth-state').dataset.authorized === 'true'`)
}

// The token opens the page once and then leaves every URL: the page takes
// it out of the address bar, and its assets and its WebSocket present the
// cookie the first response set (docs/viewer.md, Security) — so the
// token is in no later request, and in no console message about one.
func tokenLeavesTheURLs(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r, addr := startViewer(t, dir)
	token := viewerToken(t, dir)
	p := openViewer(t, browser, addr, token)
	if loc := eval[string](t, p, `location.href`); loc != "http://"+addr+"/" {
		t.Errorf("address bar %q: want the token taken out", loc)
	}
	// The WebSocket goes away and the page retries: its console says so,
	// naming the URL it tried.
	r.stop(t)
	var wsErrors []string
	for deadline := time.Now().Add(browserWait); len(wsErrors) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no console error about the lost WebSocket within %v: %q", browserWait, p.consoleErrors())
		}
		for _, e := range p.consoleErrors() {
			if strings.Contains(e, "WebSocket connection to") {
				wsErrors = append(wsErrors, e)
			}
		}
	}
	urls := p.requested()
	if len(urls) < 3 || urls[0] != "http://"+addr+"/?token="+token {
		t.Fatalf("requests %q: want the page with its token first, then its assets and WebSocket", urls)
	}
	for _, u := range urls[1:] {
		if strings.Contains(u, token) {
			t.Errorf("request %q carries the token", u)
		}
	}
	if !slices.Contains(urls, "ws://"+addr+"/ws") {
		t.Errorf("requests %q: no WebSocket", urls)
	}
	for _, e := range p.consoleErrors() {
		if strings.Contains(e, token) {
			t.Errorf("console message with the token: %q", e)
		}
	}
	t.Logf("after rayos stopped, the page's console says: %q", wsErrors)
}

// A screenshot of the page, showing the demo world, is kept as a test
// artefact in bin/artifacts/viewer.png (bin/ is git-ignored): a valid PNG
// of the tab's size, with more than one colour in it.
func screenshotIsKept(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	_, addr := startViewer(t, dir)
	p := openViewer(t, browser, addr, viewerToken(t, dir))
	poll[bool](t, p, "guests, placement and tick rate shown", `() => document.querySelectorAll('#guests tr[data-guest]').length === 2 &&
		rayos.placement !== null && Number(document.querySelector('#rate').dataset.rate) > 0`)
	ctx, cancel := context.WithTimeout(p.ctx, browserWait)
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join("..", "bin", "artifacts", "viewer.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(kept))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != viewportW || b.Dy() != viewportH {
		t.Errorf("%s is %v; want the tab's %d×%d", path, b.Size(), viewportW, viewportH)
	}
	colours := map[[4]uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("%s has %d colours: a blank page?", path, len(colours))
	}
	t.Logf("screenshot kept: %s (%d bytes, %v)", path, len(kept), img.Bounds().Size())
}
