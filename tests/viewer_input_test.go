package tests

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/world"
)

// The page as an input device, in headless Chromium against the real
// binary: keys typed and clicks on the frame canvas become the world's key
// and pointer inputs — recorded by --record exactly as fed, the pointer at
// the framebuffer pixel under it —, and a page without the token sends
// none.
//
//	go test ./tests -run BrowserInput
func TestBrowserInput(t *testing.T) {
	b := startBrowser(t)
	t.Run("TypedAndClickedIntoTheJournal", func(t *testing.T) { typedAndClickedIntoTheJournal(t, b) })
	t.Run("ReadOnlyPageSendsNothing", func(t *testing.T) { readOnlyPageSendsNothing(t, b) })
}

// canvasRect is where the frame canvas is on the page, in CSS pixels.
type canvasRect struct {
	Left, Top, Width, Height float64
	FrameW, FrameH           float64
}

const canvasRectJS = `(() => {
	const c = document.getElementById('frame'), r = c.getBoundingClientRect();
	return {left: r.left + c.clientLeft, top: r.top + c.clientTop, width: c.clientWidth, height: c.clientHeight, frameW: c.width, frameH: c.height};
})()`

// settlePage waits until the server has read every message the page sent
// so far: it answers a malformed input only after them. What it read is
// fed before the next tick.
func settlePage(t *testing.T, p *page) {
	t.Helper()
	eval[bool](t, p, `(send({t: 'input', id: 4242, kind: 'settle'}), true)`)
	poll[bool](t, p, "the server read the page's inputs", `() => rayos.errors.some((e) => e.id === 4242)`)
}

// pageInputs reads a journal's key and pointer inputs.
func pageInputs(t *testing.T, path string) []components.Input {
	t.Helper()
	j, err := world.ReadJournalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []components.Input
	for _, ev := range j.Events {
		in, err := ev.Input.ToInput()
		if err != nil {
			t.Fatalf("journal line at tick %d: %v", ev.Tick, err)
		}
		if in.Kind == components.InputKey || in.Kind == components.InputPointer {
			out = append(out, in)
		}
	}
	return out
}

func typedAndClickedIntoTheJournal(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r, addr := startViewer(t, dir, "--record", "run.jsonl")
	p := openViewer(t, browser, addr, viewerToken(t, dir))
	if s := eval[string](t, p, `document.getElementById('input-state').dataset.input`); s != "idle" {
		t.Errorf("before a click the input state is %q, want idle", s)
	}
	rect := eval[canvasRect](t, p, canvasRectJS)
	if rect.FrameW != 1920 || rect.FrameH != 1080 || rect.Width <= 0 {
		t.Fatalf("canvas %+v", rect)
	}
	// A point a third of the way across and two thirds down, at a
	// fractional CSS position: the page must scale, not round.
	cssX, cssY := rect.Left+rect.Width/3+0.25, rect.Top+rect.Height*2/3+0.5
	p.do(t, chromedp.MouseClickXY(cssX, cssY))
	poll[bool](t, p, "the canvas focused", `() => document.activeElement === document.getElementById('frame') &&
		document.getElementById('input-state').dataset.input === 'on'`)
	p.do(t, chromedp.KeyEvent("ab\r"))
	poll[bool](t, p, "eight inputs sent", `() => rayos.input.sent === 8 && rayos.input.held.length === 0`)
	client := eval[float64](t, p, `rayos.hello.client`)
	// Leaving the canvas ends the capture: keys then go to the page.
	p.do(t, chromedp.Click(chromedp.ID("entity-search")), chromedp.KeyEvent("c"))
	if n := eval[float64](t, p, `rayos.input.sent`); n != 8 {
		t.Errorf("%v inputs sent after the canvas lost the focus, want still 8", n)
	}
	if s := eval[string](t, p, `document.getElementById('input-state').dataset.input`); s != "idle" {
		t.Errorf("after leaving the canvas the input state is %q, want idle", s)
	}
	settlePage(t, p)
	r.stop(t) // the last tick, the signal's, feeds what is still queued

	got := pageInputs(t, filepath.Join(dir, "run.jsonl"))
	fx := (cssX - rect.Left) * rect.FrameW / rect.Width
	fy := (cssY - rect.Top) * rect.FrameH / rect.Height
	type want struct {
		kind    components.InputKind
		key     uint16
		pressed bool
		buttons uint32
	}
	wants := []want{
		{components.InputPointer, 0, false, 1}, {components.InputPointer, 0, false, 0},
		{components.InputKey, 30, true, 0}, {components.InputKey, 30, false, 0},
		{components.InputKey, 48, true, 0}, {components.InputKey, 48, false, 0},
		{components.InputKey, 28, true, 0}, {components.InputKey, 28, false, 0},
	}
	if len(got) != len(wants) {
		t.Fatalf("the journal holds %d key and pointer inputs, want %d: %+v", len(got), len(wants), got)
	}
	for i, in := range got {
		w := wants[i]
		if in.Kind != w.kind || in.Key != w.key || in.Pressed != w.pressed || in.Buttons != w.buttons || in.Device != uint32(client) {
			t.Errorf("input %d: %+v, want %+v from device %v", i, in, w, client)
		}
		if in.Kind == components.InputPointer {
			if math.Abs(float64(in.Pointer[0])-fx) > 1e-3 || math.Abs(float64(in.Pointer[1])-fy) > 1e-3 {
				t.Errorf("click at CSS %.2f,%.2f reached the world at %v, want the framebuffer pixel %.3f,%.3f", cssX, cssY, in.Pointer, fx, fy)
			}
		}
	}
}

func readOnlyPageSendsNothing(t *testing.T, browser context.Context) {
	dir := t.TempDir()
	r, addr := startViewer(t, dir, "--record", "run.jsonl")
	p := openTab(t, browser)
	p.do(t, chromedp.Navigate("http://"+addr+"/"))
	poll[bool](t, p, "the read-only page with its frame", `() =>
		document.querySelector('#conn').dataset.state === 'open' && rayos.hello && !rayos.hello.authorized && rayos.frame.version > 0`)
	if s := eval[string](t, p, `document.getElementById('input-state').dataset.input`); s != "off" {
		t.Errorf("a read-only page's input state is %q, want off", s)
	}
	rect := eval[canvasRect](t, p, canvasRectJS)
	p.do(t, chromedp.MouseClickXY(rect.Left+10, rect.Top+10), chromedp.KeyEvent("x\r"))
	if n := eval[float64](t, p, `rayos.input.sent`); n != 0 {
		t.Errorf("a page without the token sent %v inputs", n)
	}
	// Even sent by hand, the server refuses them.
	eval[bool](t, p, `(send({t: 'input', id: 77, kind: 'key', key: 30, pressed: true}), true)`)
	e := poll[map[string]any](t, p, "the refusal", `() => rayos.errors.find((e) => e.id === 77)`)
	if e["code"] != "unauthorized" {
		t.Errorf("an input without the token: %v", e)
	}
	settlePage(t, p)
	r.stop(t)
	if got := pageInputs(t, filepath.Join(dir, "run.jsonl")); len(got) != 0 {
		t.Errorf("a read-only page's inputs reached the world: %+v", got)
	}
}
