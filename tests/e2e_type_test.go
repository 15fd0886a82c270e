package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rayos/engine/guests/daemon"
)

// The whole way from a person's keyboard to a real guest: text typed into
// the viewer page in headless Chromium reaches the tiny QEMU Linux guest
// (through the page's input messages, the input broker, the policy gate
// and libvirt's send-key) only once "show the linux desktop" was said and
// allowed. Before that the same typing never reaches the guest: with
// nothing focused it goes to RayOS's own prompt. The guest's init echoes each line typed on its
// console to the serial port as "typed: <line>" (testguest/build.sh).
//
//	go test ./tests -run E2ETypeFromThePage
func TestE2ETypeFromThePage(t *testing.T) {
	cache := testGuest(t)
	d := daemon.Private(t)
	browser := startBrowser(t)
	dir := realGuestData(t, cache)
	r := startRayos(t, dir, "--hz", "50", "--libvirt-socket", d.Socket, "--libvirt-uri", "qemu:///system", "--viewer", "127.0.0.1:0")
	r.waitFor(t, "RAYOS_GUEST:linux:hidden")
	r.waitFor(t, "RAYOS_GUEST:linux:ready")
	serial := filepath.Join(dir, "data", "vm", "linux", "serial.log")
	p := openViewer(t, browser, viewerAddr(t, r), viewerToken(t, dir))

	// clickLinux clicks the middle of the linux guest's surface, where the
	// state says it is on the frame, mapped to the canvas's CSS pixels.
	clickLinux := func() {
		t.Helper()
		at := poll[map[string]float64](t, p, "the linux surface on the frame", `() => {
			const s = rayos.state && rayos.state.surfaces.find((s) => s.guest === 'linux');
			if (!s) return false;
			const c = document.getElementById('frame'), r = c.getBoundingClientRect();
			return {x: r.left + c.clientLeft + (s.x + s.w / 2) * c.clientWidth / c.width,
				y: r.top + c.clientTop + (s.y + s.h / 2) * c.clientHeight / c.height};
		}`)
		p.do(t, chromedp.MouseClickXY(at["x"], at["y"]))
		poll[bool](t, p, "the canvas focused", `() => document.getElementById('input-state').dataset.input === 'on'`)
	}

	// Hidden: typing reaches nothing of the guest's. The click found no
	// shown surface to focus, so the keyboard stays with RayOS's own
	// prompt (docs/input.md): the line is RayOS's to answer, and it
	// answers that it did not understand it.
	clickLinux()
	p.do(t, chromedp.KeyEvent("secret\r"))
	settlePage(t, p)
	answered := func() bool {
		for _, l := range lines(r.output()) {
			if strings.HasPrefix(l, "RAYOS_INTENT:") && strings.Contains(l, ":none:") {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(runCeiling)
	for !answered() {
		if time.Now().After(deadline) {
			t.Fatalf("the line typed while linux was hidden was not answered by RayOS's prompt:\n%s", r.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := r.count("RAYOS_AUDIT:input-dropped:guest=linux kind=key"); n != 0 {
		t.Errorf("%d keys dropped at linux, which never had the keyboard", n)
	}
	mustContain(t, "markers", r.output(), "RAYOS_AUDIT:input-dropped:surface=- kind=pointer")
	if n := r.count("RAYOS_AUDIT:press:guest=linux"); n != 0 {
		t.Fatalf("%d keys injected into the hidden guest", n)
	}

	// Said and allowed: now typing reaches the guest.
	res := rayos(t, dir, "ctl", "--data", "data", "say", "show the linux desktop")
	if res.code != 0 || !strings.Contains(res.stdout, "RAYOS_INTENT:") || !strings.Contains(res.stdout, "RAYOS_HOST_ACK:present:ok") {
		t.Fatalf("say \"show the linux desktop\": exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("say: %s", strings.TrimSpace(res.stdout))
	r.waitFor(t, "RAYOS_GUEST:linux:presented")
	mustContain(t, "markers", r.output(), "RAYOS_AUDIT:policy-allow:action=present guest=linux")
	clickLinux()
	p.do(t, chromedp.KeyEvent("hello\r"))
	deadline = time.Now().Add(runCeiling)
	for {
		log, _ := os.ReadFile(serial)
		if strings.Contains(string(log), "typed: hello") {
			if strings.Contains(string(log), "secret") {
				t.Error("text typed while the guest was hidden reached it")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the guest never echoed the line typed in the page; serial log:\n%s\nmarkers:\n%s", log, r.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	mustContain(t, "markers", r.output(), "RAYOS_AUDIT:press:guest=linux")
	r.stop(t)
}
