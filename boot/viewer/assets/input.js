// The page as an input device: while the frame canvas has the keyboard
// focus (click it, or Tab to it), keys pressed and the pointer over it go
// to RayOS as {"t":"input"} messages — Linux key codes from
// KeyboardEvent.code (the key's place, so the layout does not matter),
// pointer positions in framebuffer pixels. RayOS's input broker routes
// them to the focused surface, through the policy gate (docs/viewer.md).
'use strict';

// KeyboardEvent.code → Linux input key code (linux/input-event-codes.h).
const LINUX_KEYS = {
  Escape: 1, Digit1: 2, Digit2: 3, Digit3: 4, Digit4: 5, Digit5: 6, Digit6: 7, Digit7: 8, Digit8: 9, Digit9: 10, Digit0: 11,
  Minus: 12, Equal: 13, Backspace: 14, Tab: 15,
  KeyQ: 16, KeyW: 17, KeyE: 18, KeyR: 19, KeyT: 20, KeyY: 21, KeyU: 22, KeyI: 23, KeyO: 24, KeyP: 25,
  BracketLeft: 26, BracketRight: 27, Enter: 28, ControlLeft: 29,
  KeyA: 30, KeyS: 31, KeyD: 32, KeyF: 33, KeyG: 34, KeyH: 35, KeyJ: 36, KeyK: 37, KeyL: 38,
  Semicolon: 39, Quote: 40, Backquote: 41, ShiftLeft: 42, Backslash: 43,
  KeyZ: 44, KeyX: 45, KeyC: 46, KeyV: 47, KeyB: 48, KeyN: 49, KeyM: 50,
  Comma: 51, Period: 52, Slash: 53, ShiftRight: 54, NumpadMultiply: 55, AltLeft: 56, Space: 57, CapsLock: 58,
  F1: 59, F2: 60, F3: 61, F4: 62, F5: 63, F6: 64, F7: 65, F8: 66, F9: 67, F10: 68,
  NumLock: 69, ScrollLock: 70, Numpad7: 71, Numpad8: 72, Numpad9: 73, NumpadSubtract: 74,
  Numpad4: 75, Numpad5: 76, Numpad6: 77, NumpadAdd: 78, Numpad1: 79, Numpad2: 80, Numpad3: 81,
  Numpad0: 82, NumpadDecimal: 83, IntlBackslash: 86, F11: 87, F12: 88, IntlRo: 89,
  NumpadEnter: 96, ControlRight: 97, NumpadDivide: 98, PrintScreen: 99, AltRight: 100,
  Home: 102, ArrowUp: 103, PageUp: 104, ArrowLeft: 105, ArrowRight: 106, End: 107, ArrowDown: 108,
  PageDown: 109, Insert: 110, Delete: 111, NumpadEqual: 117, Pause: 119, NumpadComma: 121, IntlYen: 124,
  ContextMenu: 127,
};

// Keys that stay the browser's: neither sent nor kept from it. With Meta
// (the OS's shortcuts), reload, full screen, developer tools, and the
// tab and window shortcuts.
function browserKeeps(e) {
  if (e.metaKey || e.code === 'MetaLeft' || e.code === 'MetaRight') return true;
  if (e.code === 'F5' || e.code === 'F11' || e.code === 'F12') return true;
  if (e.ctrlKey && ['Tab', 'PageUp', 'PageDown', 'KeyT', 'KeyW', 'KeyN', 'KeyL', 'KeyR'].includes(e.code)) return true;
  return e.ctrlKey && e.shiftKey && (e.code === 'KeyI' || e.code === 'KeyJ');
}

rayos.input = { sent: 0, held: [] };

(function pageInput() {
  const canvas = $('frame');
  const state = $('input-state');
  const held = new Set(); // Linux key codes pressed and not yet released
  let buttons = 0, pending = null, timer = 0, lastMove = 0;
  const MOVE_MS = 16; // at most ~60 moves a second; the server coalesces too

  const live = () => !!(rayos.hello && rayos.hello.inputs);
  const focused = () => document.activeElement === canvas;
  function post(msg) {
    if (!live()) return;
    if (send(Object.assign({ t: 'input' }, msg))) rayos.input.sent++;
  }
  function show() {
    let s = 'off', text = 'read-only: the token allows typing into the frame';
    if (rayos.hello && rayos.hello.mode !== 'live') text = 'a recording: no input';
    else if (live()) {
      s = focused() ? 'on' : 'idle';
      text = focused() ? 'keys and pointer go to RayOS (click outside the frame to stop)' : 'click the frame to type into it';
    }
    state.dataset.input = s;
    state.textContent = text;
    rayos.input.held = [...held];
  }
  rayos.input.refresh = show;

  // Framebuffer pixels under a pointer event: the canvas is shown scaled
  // (CSS pixels) but holds exactly the frame's texels.
  function position(e) {
    const r = canvas.getBoundingClientRect();
    const w = canvas.width, h = canvas.height;
    const x = (e.clientX - r.left - canvas.clientLeft) * w / canvas.clientWidth;
    const y = (e.clientY - r.top - canvas.clientTop) * h / canvas.clientHeight;
    // A drag captured outside the canvas stays on its edge.
    return { x: Math.min(Math.max(x, 0), w - 0.01), y: Math.min(Math.max(y, 0), h - 0.01) };
  }
  function flushMove() {
    clearTimeout(timer);
    timer = 0;
    if (pending) { post(pending); pending = null; lastMove = performance.now(); }
  }
  function pointer(e, now) {
    if (!live() || rayos.frame.width === 0) return;
    const p = position(e);
    const msg = { kind: 'pointer', x: p.x, y: p.y, buttons: e.buttons & 7 };
    if (now || msg.buttons !== buttons) {
      pending = null;
      flushMove();
      buttons = msg.buttons;
      post(msg);
      return;
    }
    pending = msg;
    if (!timer) timer = setTimeout(flushMove, Math.max(0, MOVE_MS - (performance.now() - lastMove)));
  }
  function releaseAll() {
    for (const key of held) post({ kind: 'key', key, pressed: false });
    held.clear();
    if (buttons) { buttons = 0; pending = null; }
    show();
  }

  canvas.tabIndex = 0;
  canvas.addEventListener('pointerdown', (e) => {
    if (!live()) return;
    canvas.focus();
    canvas.setPointerCapture(e.pointerId);
    pointer(e, true);
    e.preventDefault(); // no text selection, no drag of the image
  });
  canvas.addEventListener('pointerup', (e) => { if (live()) pointer(e, true); });
  canvas.addEventListener('pointermove', (e) => { if (focused()) pointer(e, false); });
  canvas.addEventListener('contextmenu', (e) => { if (live()) e.preventDefault(); }); // the right button is the guest's
  canvas.addEventListener('keydown', (e) => {
    const key = LINUX_KEYS[e.code];
    if (!live() || !key || browserKeeps(e)) return;
    e.preventDefault(); // Space must not scroll the page, Tab not leave it, Backspace not go back
    held.add(key);
    post({ kind: 'key', key, pressed: true }); // a held key repeats: each repeat is another press
    show();
  });
  canvas.addEventListener('keyup', (e) => {
    const key = LINUX_KEYS[e.code];
    if (!key || !held.has(key)) return;
    e.preventDefault();
    held.delete(key);
    post({ kind: 'key', key, pressed: false });
    show();
  });
  // Leaving the canvas (a click elsewhere, another window) releases what
  // it held: a key must not stay down in the guest.
  canvas.addEventListener('blur', releaseAll);
  canvas.addEventListener('focus', show);
  show();
})();
