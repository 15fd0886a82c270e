package input

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/keys"
	"github.com/rayos/engine/world/marker"
)

// Broker routes the tick's key and pointer inputs to the focused surface:
// a guest's become pending IntentEnvelopes for the policy gate (press,
// mouse, click), RayOS's own become SurfaceInput events. A button press
// first focuses the topmost shown surface under the pointer. See
// docs/input.md.
type Broker struct {
	mirror    *gpu.Mirror
	inputs    *ecs.Filter1[components.Input]
	events    *ecs.Filter1[components.SurfaceInput]
	guestList *ecs.Filter1[components.Guest]
	surfList  *ecs.Filter1[components.Surface]
	surfaces  *ecs.Map1[components.Surface]
	guests    *ecs.Map1[components.Guest]
	displays  *ecs.Map1[components.GuestDisplay]
	envelope  *ecs.Map1[components.IntentEnvelope]
	event     *ecs.Map1[components.SurfaceInput]

	keyboards map[uint32]*keyboard
	pointers  map[uint32]uint32 // button mask last seen, by pointer device
	// sent is the last position injected into each guest surface (by a
	// move or a click): motion that ends where the pointer already is
	// (a button release, say) is not sent again.
	sent map[ecs.Entity][2]int32

	// Scratch reused every tick.
	todo    []components.Input
	byNum   []ecs.Entity // guest entities by Guest.Number
	moves   []move
	drops   []drop
	made    []components.IntentEnvelope
	created []components.SurfaceInput
}

// keyboard is the modifier state of one keyboard device.
type keyboard struct {
	held uint8
	// alone is the modifier bits pressed with no other key since: released
	// alone, a modifier is injected as a tap of its own.
	alone uint8
}

// move is the coalesced pointer motion for one surface this tick.
type move struct {
	surface ecs.Entity
	seq     uint64
	device  uint32
	x, y    int32
	buttons uint32
}

// drop counts dropped motion for one surface and reason this tick.
type drop struct {
	surface ecs.Entity
	reason  string
	seq     uint64
	count   int
}

// MaxDevices bounds the keyboards and pointers the broker keeps state for:
// inputs of a device beyond it are dropped (with an audit), so that inputs
// naming endless device numbers cannot grow its memory.
const MaxDevices = 64

// modifierCodes are the Linux key codes of the modifier keys and their
// bits.
var modifierCodes = map[uint16]uint8{
	42: components.ModShift, 54: components.ModShift, // leftshift, rightshift
	29: components.ModCtrl, 97: components.ModCtrl, // leftctrl, rightctrl
	56: components.ModAlt, 100: components.ModAlt, // leftalt, rightalt
	125: components.ModMeta, 126: components.ModMeta, // leftmeta, rightmeta
}

// modifierOrder is the order held modifiers are written in a chord, each
// as its left key.
var modifierOrder = [...]struct {
	bit  uint8
	name string
}{{components.ModCtrl, "leftctrl"}, {components.ModAlt, "leftalt"}, {components.ModShift, "leftshift"}, {components.ModMeta, "leftmeta"}}

// keyNames are the canonical names of the Linux key codes RayOS can
// inject (world/keys), by code: a chord is written with them, as a person
// would write it for "press".
var keyNames = func() map[uint16]string {
	m := map[uint16]string{}
	for _, n := range keys.Names() {
		canon, _ := keys.Canonical(n)
		if c, ok := keys.Code(canon); ok {
			m[uint16(c)] = canon
		}
	}
	return m
}()

// MaxKeyCode is the largest Linux key code (KEY_MAX); larger codes are
// dropped as bad input.
const MaxKeyCode = 0x2ff

// Buttons of Input.Buttons, as a browser numbers them.
const (
	ButtonLeft   uint32 = 1
	ButtonRight  uint32 = 2
	ButtonMiddle uint32 = 4
)

var buttonNames = [...]struct {
	bit  uint32
	name string
}{{ButtonLeft, "left"}, {ButtonRight, "right"}, {ButtonMiddle, "middle"}}

// NewBroker returns the input broker.
func NewBroker() *Broker { return &Broker{} }

// Describe implements world.System.
func (b *Broker) Describe() world.Description {
	return world.Description{
		Name:    "input-broker",
		Purpose: "route key and pointer inputs to the focused surface: a guest's become pending press/mouse/click intents (dropped with an audit when not presented or not permitted; motion coalesced to one move per surface per tick), RayOS's own become SurfaceInput events; a button press focuses the topmost shown surface under the pointer",
		Reads:   []string{"Input(key, pointer)", "Focus", "Surface", "Guest", "GuestDisplay", "Mirror decorations"},
		Writes:  []string{"IntentEnvelope(pending)", "SurfaceInput", "Focus (click)"},
	}
}

// Init implements world.System.
func (b *Broker) Init(w *world.World) error {
	b.mirror = ecs.GetResource[gpu.Mirror](w.ECS) // optional: without one, surfaces are undecorated
	b.inputs = ecs.NewFilter1[components.Input](w.ECS).Register()
	b.events = ecs.NewFilter1[components.SurfaceInput](w.ECS).Register()
	b.guestList = ecs.NewFilter1[components.Guest](w.ECS).Register()
	b.surfList = ecs.NewFilter1[components.Surface](w.ECS).Register()
	b.surfaces = ecs.NewMap1[components.Surface](w.ECS)
	b.guests = ecs.NewMap1[components.Guest](w.ECS)
	b.displays = ecs.NewMap1[components.GuestDisplay](w.ECS)
	b.envelope = ecs.NewMap1[components.IntentEnvelope](w.ECS)
	b.event = ecs.NewMap1[components.SurfaceInput](w.ECS)
	b.keyboards = map[uint32]*keyboard{}
	b.pointers = map[uint32]uint32{}
	b.sent = map[ecs.Entity][2]int32{}
	return nil
}

// Run implements world.System.
func (b *Broker) Run(w *world.World) {
	// Surface events live for one tick, like the inputs they came from.
	q := b.events.Query()
	stale := q.Count()
	q.Close()
	if stale > 0 {
		w.ECS.RemoveEntities(b.events.Batch(), nil)
	}
	b.todo = b.todo[:0]
	iq := b.inputs.Query()
	for iq.Next() {
		if in := iq.Get(); in.Kind == components.InputKey || in.Kind == components.InputPointer {
			b.todo = append(b.todo, *in)
		}
	}
	if len(b.todo) == 0 {
		return
	}
	slices.SortFunc(b.todo, func(a, c components.Input) int { return cmp.Compare(a.Seq, c.Seq) })
	b.indexGuests()
	b.moves, b.drops, b.made, b.created = b.moves[:0], b.drops[:0], b.made[:0], b.created[:0]
	for i := range b.todo {
		in := &b.todo[i]
		if in.Kind == components.InputKey {
			b.key(w, in)
		} else {
			b.pointer(w, in)
		}
	}
	for i := range b.moves {
		b.flushMove(w, &b.moves[i])
	}
	for _, d := range b.drops {
		b.audit(w, d.surface, "pointer", d.seq, fmt.Sprintf("%s count=%d", d.reason, d.count))
	}
	// Structural changes wait until no query is open.
	for i := range b.made {
		b.envelope.NewEntity(&b.made[i])
	}
	for i := range b.created {
		b.event.NewEntity(&b.created[i])
	}
}

func (b *Broker) indexGuests() {
	b.byNum = b.byNum[:0]
	q := b.guestList.Query()
	for q.Next() {
		n := int(q.Get().Number)
		if n > 1<<16 {
			continue // numbers are small; a huge one is not indexed (its inputs drop as no-owner)
		}
		for n >= len(b.byNum) {
			b.byNum = append(b.byNum, ecs.Entity{})
		}
		b.byNum[n] = q.Entity()
	}
}

// key routes one key event to the surface focused at that moment.
func (b *Broker) key(w *world.World, in *components.Input) {
	if in.Key == 0 || in.Key > MaxKeyCode {
		b.audit(w, ecs.Entity{}, "key", in.Seq, "bad-key-code")
		return
	}
	kb, ok := b.keyboards[in.Device]
	if !ok {
		if len(b.keyboards) >= MaxDevices {
			b.audit(w, ecs.Entity{}, "key", in.Seq, "too-many-devices")
			return
		}
		kb = &keyboard{}
		b.keyboards[in.Device] = kb
	}
	held := kb.held // the modifiers held with this key, itself excluded
	mod, isMod := modifierCodes[in.Key]
	// What a guest would receive: a chord for a key press; for a modifier,
	// nothing on press, a tap on release if no other key came between.
	var chord string
	switch {
	case isMod && in.Pressed:
		kb.held |= mod
		kb.alone |= mod
	case isMod:
		if kb.alone&mod != 0 {
			chord = keyNames[in.Key]
		}
		kb.held &^= mod
		kb.alone &^= mod
	case in.Pressed:
		kb.alone = 0
		chord = chordOf(held, in.Key)
	}
	known := keyNames[in.Key] != ""

	surface, ok := b.focused(w)
	if !ok {
		if chord != "" { // releases and lone modifiers go nowhere, unremarked
			b.audit(w, surface, "key", in.Seq, b.unrouted(w))
		}
		return
	}
	sf := b.surfaces.Get(surface)
	if sf.Owner == components.OwnerRayOS {
		b.created = append(b.created, components.SurfaceInput{
			Surface: world.Ref(surface), Kind: components.InputKey, Seq: in.Seq, Device: in.Device,
			Key: in.Key, Pressed: in.Pressed, Modifiers: held,
		})
		return
	}
	if chord == "" {
		return
	}
	if !known {
		b.audit(w, surface, "key", in.Seq, "unknown-key")
		return
	}
	guest, ok := b.guestFor(w, surface, components.ActionPress, "key", in.Seq)
	if !ok {
		return
	}
	b.inject(w, guest, components.ActionPress, in.Seq, chord)
}

// chordOf writes held modifiers and key as a chord of key names, as
// "press" takes it: "leftctrl+c". A key with no name gives "?" (never
// injected: dropped as unknown-key).
func chordOf(held uint8, key uint16) string {
	name := keyNames[key]
	if name == "" {
		return "?"
	}
	var s strings.Builder
	for _, m := range modifierOrder {
		if held&m.bit != 0 {
			s.WriteString(m.name)
			s.WriteByte('+')
		}
	}
	s.WriteString(name)
	return s.String()
}

// pointer handles one pointer event: a newly pressed button focuses the
// topmost shown surface under the pointer and clicks there; motion goes
// to the focused surface, coalesced.
func (b *Broker) pointer(w *world.World, in *components.Input) {
	px, py := in.Pointer[0], in.Pointer[1]
	if !finite(px) || !finite(py) || math.Abs(float64(px)) > 1<<20 || math.Abs(float64(py)) > 1<<20 {
		b.audit(w, ecs.Entity{}, "pointer", in.Seq, "bad-position")
		return
	}
	last, ok := b.pointers[in.Device]
	if !ok && len(b.pointers) >= MaxDevices {
		b.audit(w, ecs.Entity{}, "pointer", in.Seq, "too-many-devices")
		return
	}
	b.pointers[in.Device] = in.Buttons
	x, y := int32(math.Floor(float64(px))), int32(math.Floor(float64(py)))
	pressed := in.Buttons &^ last
	if pressed != 0 {
		b.click(w, in, x, y, pressed)
		return
	}
	surface, ok := b.focused(w)
	if !ok {
		return // motion over nothing focused: nobody's
	}
	sf := b.surfaces.Get(surface)
	if sf.Owner == components.OwnerRayOS {
		if !inside(sf.Rect, x, y) {
			return
		}
		b.coalesce(surface, in, x-sf.Rect.X, y-sf.Rect.Y)
		return
	}
	gx, gy, inContent := b.guestPoint(surface, sf, x, y)
	if !inContent {
		return // over the decoration or elsewhere: not the guest's
	}
	b.coalesce(surface, in, gx, gy)
}

// click focuses the topmost shown surface under the pointer and delivers
// the press there.
func (b *Broker) click(w *world.World, in *components.Input, x, y int32, pressed uint32) {
	surface, ok := b.topmost(x, y)
	if !ok {
		b.audit(w, surface, "pointer", in.Seq, "no-surface")
		return
	}
	sf := b.surfaces.Get(surface)
	f, tick := w.Focus, w.Clock.Tick
	ref := world.Ref(surface)
	if f.Surface != ref {
		f.Surface, f.Since = ref, tick
	}
	f.Owner, f.Weight, f.By, f.At = sf.Owner, 1, components.FocusPointer, tick
	if sf.Owner == components.OwnerRayOS {
		b.dropMove(surface)
		b.created = append(b.created, components.SurfaceInput{
			Surface: ref, Kind: components.InputPointer, Seq: in.Seq, Device: in.Device,
			Pointer: [2]int32{x - sf.Rect.X, y - sf.Rect.Y}, Buttons: in.Buttons, Clicked: pressed,
		})
		return
	}
	gx, gy, inContent := b.guestPoint(surface, sf, x, y)
	if !inContent {
		return // a click on the guest's decoration only focuses it
	}
	guest, ok := b.guestFor(w, surface, components.ActionClick, "pointer", in.Seq)
	if !ok {
		return
	}
	// The click carries its own position: motion before it is superseded.
	b.dropMove(surface)
	name := "left"
	for _, bn := range buttonNames {
		if pressed&bn.bit != 0 {
			name = bn.name
			break
		}
	}
	b.remember(w, surface, gx, gy)
	b.inject(w, guest, components.ActionClick, in.Seq, fmt.Sprintf("%s to %d %d", name, gx, gy))
}

// coalesce keeps the last motion for surface this tick.
func (b *Broker) coalesce(surface ecs.Entity, in *components.Input, x, y int32) {
	for i := range b.moves {
		if m := &b.moves[i]; m.surface == surface {
			m.seq, m.device, m.x, m.y, m.buttons = in.Seq, in.Device, x, y, in.Buttons
			return
		}
	}
	b.moves = append(b.moves, move{surface: surface, seq: in.Seq, device: in.Device, x: x, y: y, buttons: in.Buttons})
}

func (b *Broker) dropMove(surface ecs.Entity) {
	b.moves = slices.DeleteFunc(b.moves, func(m move) bool { return m.surface == surface })
}

// flushMove delivers a surface's coalesced motion at the end of the tick,
// checked against the guest as it is then.
func (b *Broker) flushMove(w *world.World, m *move) {
	if !w.ECS.Alive(m.surface) || !b.surfaces.HasAll(m.surface) {
		return
	}
	sf := b.surfaces.Get(m.surface)
	if sf.Owner == components.OwnerRayOS {
		b.created = append(b.created, components.SurfaceInput{
			Surface: world.Ref(m.surface), Kind: components.InputPointer, Seq: m.seq, Device: m.device,
			Pointer: [2]int32{m.x, m.y}, Buttons: m.buttons,
		})
		return
	}
	guest, why := b.guestOf(sf, components.ActionMouse)
	if why != "" {
		b.countDrop(m.surface, why, m.seq)
		return
	}
	if at, ok := b.sent[m.surface]; ok && at == [2]int32{m.x, m.y} {
		return
	}
	b.remember(w, m.surface, m.x, m.y)
	b.inject(w, guest, components.ActionMouse, m.seq, fmt.Sprintf("to %d %d", m.x, m.y))
}

// remember records where a guest surface's pointer was put, forgetting
// dead surfaces once the record grows.
func (b *Broker) remember(w *world.World, surface ecs.Entity, x, y int32) {
	if len(b.sent) >= MaxDevices {
		for e := range b.sent {
			if !w.ECS.Alive(e) {
				delete(b.sent, e)
			}
		}
	}
	b.sent[surface] = [2]int32{x, y}
}

func (b *Broker) countDrop(surface ecs.Entity, reason string, seq uint64) {
	for i := range b.drops {
		if d := &b.drops[i]; d.surface == surface && d.reason == reason {
			d.count++
			return
		}
	}
	b.drops = append(b.drops, drop{surface: surface, reason: reason, seq: seq, count: 1})
}

// focused is the focused surface, if it is alive.
func (b *Broker) focused(w *world.World) (ecs.Entity, bool) {
	e, ok := w.Resolve(w.Focus.Surface)
	if !ok || !b.surfaces.HasAll(e) {
		return ecs.Entity{}, false
	}
	return e, true
}

// unrouted says why an input found no focused surface.
func (b *Broker) unrouted(w *world.World) string {
	if w.Focus.Surface == (components.EntityRef{}) {
		return "no-focus"
	}
	return "dead-surface"
}

// guestOf is the guest showing on sf, or why action may not reach it now.
func (b *Broker) guestOf(sf *components.Surface, action components.IntentAction) (ecs.Entity, string) {
	n := int(sf.Owner)
	if n >= len(b.byNum) || b.byNum[n].IsZero() {
		return ecs.Entity{}, "no-owner"
	}
	e := b.byNum[n]
	g := b.guests.Get(e)
	switch {
	case !g.Presented || g.State != components.GuestPresented:
		return e, "not-presented"
	case g.Permitted&(1<<action) == 0:
		return e, "not-permitted"
	}
	return e, ""
}

// guestFor is guestOf, auditing a refusal.
func (b *Broker) guestFor(w *world.World, surface ecs.Entity, action components.IntentAction, kind string, seq uint64) (ecs.Entity, bool) {
	guest, why := b.guestOf(b.surfaces.Get(surface), action)
	if why != "" {
		b.audit(w, surface, kind, seq, why)
		return ecs.Entity{}, false
	}
	return guest, true
}

// inject makes a pending envelope for the gate: the input decided like
// any other request, at full confidence (the user's own hand), carried
// out in its place in the input order.
func (b *Broker) inject(w *world.World, guest ecs.Entity, action components.IntentAction, seq uint64, arg string) {
	b.made = append(b.made, components.IntentEnvelope{
		Action: action, Target: world.Ref(guest), Confidence: 1, Status: components.IntentPending,
		Source: seq, Order: seq, Argument: arg, Tick: w.Clock.Tick,
	})
}

// audit records a dropped input:
// "RAYOS_AUDIT:input-dropped:guest=linux kind=key seq=12 reason=not-presented".
func (b *Broker) audit(w *world.World, surface ecs.Entity, kind string, seq uint64, reason string) {
	who := "surface=-"
	if !surface.IsZero() && b.surfaces.HasAll(surface) {
		sf := b.surfaces.Get(surface)
		switch n := int(sf.Owner); {
		case sf.Owner == components.OwnerRayOS:
			who = "surface=" + strconv.FormatUint(uint64(surface.ID()), 10)
		case n < len(b.byNum) && !b.byNum[n].IsZero():
			who = "guest=" + b.guests.Get(b.byNum[n]).ID
		default:
			who = "surface=" + strconv.FormatUint(uint64(surface.ID()), 10)
		}
	} else if !surface.IsZero() {
		who = "surface=" + strconv.FormatUint(uint64(surface.ID()), 10)
	}
	w.Emit(marker.Audit("input-dropped", fmt.Sprintf("%s kind=%s seq=%d reason=%s", who, kind, seq, reason)))
}

// topmost is the surface the compositor draws on top at (x, y) among the
// shown ones: visible, and presented if a guest's. The order is the
// compositor's: system surfaces above all others, then by Layer, then by
// Z; exact ties go to the newer entity.
func (b *Broker) topmost(x, y int32) (ecs.Entity, bool) {
	var best ecs.Entity
	var bestS *components.Surface
	q := b.surfList.Query()
	for q.Next() {
		sf := q.Get()
		if sf.Flags&components.SurfaceVisible == 0 || !inside(sf.Rect, x, y) {
			continue
		}
		if sf.Owner != components.OwnerRayOS && sf.Flags&components.SurfacePresented == 0 {
			continue
		}
		if bestS == nil || above(sf, q.Entity(), bestS, best) {
			best, bestS = q.Entity(), sf
		}
	}
	return best, bestS != nil
}

// above says whether surface a (entity ea) is drawn above b (entity eb).
func above(a *components.Surface, ea ecs.Entity, b *components.Surface, eb ecs.Entity) bool {
	sysA, sysB := a.Flags&components.SurfaceSystem != 0, b.Flags&components.SurfaceSystem != 0
	switch {
	case sysA != sysB:
		return sysA
	case a.Layer != b.Layer:
		return a.Layer > b.Layer
	case a.Z != b.Z:
		return a.Z > b.Z
	}
	return ea.ID() > eb.ID()
}

// guestPoint maps a framebuffer pixel over a guest's desktop surface to
// the guest display's own pixels: through the surface's content (its
// Rect less the decoration the compositor draws) scaled to the display's
// size, as the compositor scales the display into it.
func (b *Broker) guestPoint(surface ecs.Entity, sf *components.Surface, x, y int32) (int32, int32, bool) {
	c := sf.Rect
	if b.mirror != nil {
		c = gpu.ContentRect(sf.Rect, b.mirror.DecorOf(surface))
	}
	if c.W <= 0 || c.H <= 0 || !inside(c, x, y) {
		return 0, 0, false
	}
	d := components.DefaultGuestDisplay
	if n := int(sf.Owner); n < len(b.byNum) && !b.byNum[n].IsZero() && b.displays.HasAll(b.byNum[n]) {
		if gd := b.displays.Get(b.byNum[n]); gd.Width > 0 && gd.Height > 0 && gd.Width <= 1<<15 && gd.Height <= 1<<15 {
			d = *gd
		}
	}
	gx := int32(int64(x-c.X) * int64(d.Width) / int64(c.W))
	gy := int32(int64(y-c.Y) * int64(d.Height) / int64(c.H))
	return gx, gy, true
}

func inside(r components.Rect, x, y int32) bool {
	return x >= r.X && y >= r.Y && int64(x) < int64(r.X)+int64(r.W) && int64(y) < int64(r.Y)+int64(r.H)
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
