package gpu

import (
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/mlange-42/ark/ecs"
)

// Column mirrors one GPU-mirrored component type T of a world into a dense
// array on a backend: entity ↔ slot, the array's length is the number of
// entities with T, and slot i holds entity i's value as of the last Sync.
//
// Slots are stable while an entity lives. When one is removed, the last
// slot moves into its place (the array stays dense) and both slots'
// generations advance, so a result computed for the old occupant of a slot
// is recognised as stale.
//
// Systems that change a T call Mark (or MarkAll); Sync copies just the
// marked slots from the ECS into the buffer, merging neighbouring slots
// into one write. An unchanged world uploads nothing.
type Column[T any] struct {
	comps    *ecs.Map[T]
	all      *ecs.Filter1[T]
	backend  Backend
	mapper   Mapper // nil when the backend does not map its buffers
	buf      Buffer
	capacity int

	entities []ecs.Entity // slot → entity
	gens     []uint32     // slot → generation, advanced whenever the slot changes hands
	slotOf   []uint32     // entity ID → slot+1; 0: not in the column
	dirty    []uint64     // bit per slot
	nDirty   int
	scratch  []T
	grown    bool
	stats    ColumnStats

	// layout caches, per ECS table in query order, the slot range its rows
	// occupy in row order; valid only while no entity joined or left the
	// column since it was measured. With it a bulk sync is one copy per
	// table instead of a lookup per entity.
	layout      []tableSlots
	layoutValid bool

	// Version counts the entities that joined or left the column: state
	// kept by slot elsewhere (the mirror's task → device array) compares it
	// to know its slot numbers still hold.
	Version uint64
	// OnMove, when set, is told when a removal moves the entity of slot
	// from into slot to (the last slot fills the hole), and OnAdd when a
	// new entity takes slot: per-slot state kept outside the column
	// follows its entity with them.
	OnMove func(from, to int)
	OnAdd  func(slot int)
}

type tableSlots struct{ start, n int }

// ColumnStats counts one column's uploads.
type ColumnStats struct {
	// LastBytes and LastWrites are what the last Sync uploaded.
	LastBytes, LastWrites int
	// TotalBytes is what every Sync so far uploaded.
	TotalBytes uint64
}

// minColumnCapacity keeps buffers from starting tiny and regrowing often.
const minColumnCapacity = 64

// NewColumn mirrors T of world w onto backend b, adopting the entities that
// already have T and following later additions and removals through ark
// observers.
func NewColumn[T any](w *ecs.World, b Backend, capacity int) (*Column[T], error) {
	c := &Column[T]{comps: ecs.NewMap[T](w), all: ecs.NewFilter1[T](w).Register(), backend: b}
	c.mapper, _ = b.(Mapper)
	if err := c.allocate(max(capacity, minColumnCapacity)); err != nil {
		return nil, err
	}
	q := c.all.Query()
	for q.Next() {
		c.add(q.Entity())
	}
	ecs.Observe(ecs.OnCreateEntity).With(ecs.C[T]()).Do(c.add).Register(w)
	ecs.Observe(ecs.OnAddComponents).For(ecs.C[T]()).Do(c.add).Register(w)
	ecs.Observe(ecs.OnRemoveEntity).With(ecs.C[T]()).Do(c.remove).Register(w)
	ecs.Observe(ecs.OnRemoveComponents).For(ecs.C[T]()).Do(c.remove).Register(w)
	return c, nil
}

// DirtyBits appends to dst, as a bit per slot (32 per uint32 word, slot
// order), the slots marked since the last Sync, and returns it: what a
// kernel needs to skip the elements that did not change. Call it before
// Sync, which clears the marks.
func (c *Column[T]) DirtyBits(dst []uint32) []uint32 {
	words := (len(c.entities) + 31) / 32
	for cap(dst) < words {
		dst = append(dst[:cap(dst)], 0)
	}
	dst = dst[:words]
	clear(dst)
	for i, w := range c.dirty {
		if 2*i < words {
			dst[2*i] = uint32(w)
		}
		if 2*i+1 < words {
			dst[2*i+1] = uint32(w >> 32)
		}
	}
	return dst
}

// Stride is the size of one element in bytes.
func (c *Column[T]) Stride() int {
	var zero T
	return int(unsafe.Sizeof(zero))
}

// allocate gives the column a buffer for capacity elements; the old one,
// if any, is freed (callers grow a column only while no program runs).
func (c *Column[T]) allocate(capacity int) error {
	buf, err := c.backend.NewBuffer(capacity*c.Stride(), RoleUpload)
	if err != nil {
		return fmt.Errorf("gpu: column of %d × %d bytes: %w", capacity, c.Stride(), err)
	}
	if c.buf.Valid() {
		c.backend.Free(c.buf)
	}
	c.buf, c.capacity = buf, capacity
	return nil
}

// Len is the number of entities (and live slots) in the column.
func (c *Column[T]) Len() int { return len(c.entities) }

// Buffer is the column's current GPU buffer. It changes when the column
// grows; Sync reports that, and programs that bind it must be recorded
// again.
func (c *Column[T]) Buffer() Buffer { return c.buf }

// Entity returns the entity in slot.
func (c *Column[T]) Entity(slot int) ecs.Entity { return c.entities[slot] }

// Slot returns the slot of e and the slot's generation.
func (c *Column[T]) Slot(e ecs.Entity) (slot int, gen uint32, ok bool) {
	id := e.ID()
	if int(id) >= len(c.slotOf) || c.slotOf[id] == 0 {
		return 0, 0, false
	}
	slot = int(c.slotOf[id] - 1)
	if c.entities[slot] != e {
		return 0, 0, false
	}
	return slot, c.gens[slot], true
}

// SlotOfID returns the slot of the live entity with ID id.
func (c *Column[T]) SlotOfID(id uint32) (int, bool) {
	if int(id) >= len(c.slotOf) || c.slotOf[id] == 0 {
		return 0, false
	}
	return int(c.slotOf[id] - 1), true
}

// Gen returns the generation of slot; results computed while it had another
// value are stale.
func (c *Column[T]) Gen(slot int) uint32 { return c.gens[slot] }

// CopyGens appends the current generation of every slot to dst[:0]; a
// producer of slot-indexed results keeps it to recognise stale ones later.
func (c *Column[T]) CopyGens(dst []uint32) []uint32 { return append(dst[:0], c.gens...) }

// Mark flags e's value as changed; the next Sync uploads it.
func (c *Column[T]) Mark(e ecs.Entity) {
	if slot, _, ok := c.Slot(e); ok {
		c.markSlot(slot)
	}
}

// MarkAll flags every slot, a word of the bitset at a time.
func (c *Column[T]) MarkAll() {
	n := len(c.entities)
	words := (n + 63) / 64
	for len(c.dirty) < words {
		c.dirty = append(c.dirty, 0)
	}
	for i := 0; i < words; i++ {
		c.dirty[i] = ^uint64(0)
	}
	if n%64 != 0 {
		c.dirty[words-1] = 1<<(n%64) - 1
	}
	for i := words; i < len(c.dirty); i++ {
		c.dirty[i] = 0
	}
	c.nDirty = n
}

func (c *Column[T]) markSlot(slot int) {
	word, bit := slot/64, uint64(1)<<(slot%64)
	for len(c.dirty) <= word {
		c.dirty = append(c.dirty, 0)
	}
	if c.dirty[word]&bit == 0 {
		c.dirty[word] |= bit
		c.nDirty++
	}
}

func (c *Column[T]) add(e ecs.Entity) {
	if _, _, ok := c.Slot(e); ok {
		return // OnCreateEntity and OnAddComponents can both see one entity
	}
	c.layoutValid = false
	slot := len(c.entities)
	c.entities = append(c.entities, e)
	if slot < len(c.gens) {
		c.gens[slot]++
	} else {
		c.gens = append(c.gens, 1)
	}
	for int(e.ID()) >= len(c.slotOf) {
		c.slotOf = append(c.slotOf, 0)
	}
	c.slotOf[e.ID()] = uint32(slot + 1)
	c.markSlot(slot)
	c.Version++
	if c.OnAdd != nil {
		c.OnAdd(slot)
	}
}

func (c *Column[T]) remove(e ecs.Entity) {
	slot, _, ok := c.Slot(e)
	if !ok {
		return
	}
	c.layoutValid = false
	last := len(c.entities) - 1
	c.slotOf[e.ID()] = 0
	if slot != last {
		moved := c.entities[last]
		c.entities[slot] = moved
		c.slotOf[moved.ID()] = uint32(slot + 1)
		c.gens[slot]++
		c.markSlot(slot)
		if c.OnMove != nil {
			c.OnMove(last, slot)
		}
	}
	c.gens[last]++
	c.entities = c.entities[:last]
	c.clearSlot(last)
	c.Version++
}

func (c *Column[T]) clearSlot(slot int) {
	word, bit := slot/64, uint64(1)<<(slot%64)
	if word < len(c.dirty) && c.dirty[word]&bit != 0 {
		c.dirty[word] &^= bit
		c.nDirty--
	}
}

// mergeGap is how many clean slots between two dirty ones are uploaded
// anyway to save a write: copying a few bytes is cheaper than a call.
const mergeGap = 4

// Sync uploads every marked slot and clears the marks. grown reports that
// the column moved to a bigger buffer (and uploaded everything).
func (c *Column[T]) Sync() (grown bool, err error) {
	c.stats.LastBytes, c.stats.LastWrites = 0, 0
	if len(c.entities) > c.capacity {
		if err := c.allocate(max(len(c.entities), 2*c.capacity)); err != nil {
			return false, err
		}
		grown = true
		c.MarkAll()
	}
	if c.nDirty == 0 {
		return grown, nil
	}
	if c.mapper != nil {
		c.syncMapped()
		return grown, nil
	}
	n := len(c.entities)
	start, end := -1, -1 // the run being gathered: slots [start, end)
	for word, bitsLeft := range c.dirty {
		for bitsLeft != 0 {
			slot := word*64 + bits.TrailingZeros64(bitsLeft)
			bitsLeft &= bitsLeft - 1
			if slot >= n {
				break
			}
			if start >= 0 && slot-end <= mergeGap {
				end = slot + 1
				continue
			}
			if start >= 0 {
				if err := c.upload(start, end); err != nil {
					return grown, err
				}
			}
			start, end = slot, slot+1
		}
		c.dirty[word] = 0
	}
	c.nDirty = 0
	if start >= 0 {
		if err := c.upload(start, end); err != nil {
			return grown, err
		}
	}
	return grown, nil
}

// bulkFraction: when at least 1/bulkFraction of the slots are dirty, the
// mapped sync walks the ECS tables in order instead of looking each dirty
// entity up, reading the component columns sequentially.
const bulkFraction = 8

// syncMapped writes the dirty slots straight into the mapped buffer.
func (c *Column[T]) syncMapped() {
	dst := view[T](c.mapper.Mapped(c.buf))
	n := c.nDirty
	switch {
	case n*bulkFraction >= len(c.entities) && c.layoutValid && c.copyTables(dst):
		// Every row was copied: account for all of them.
		n = len(c.entities)
	case n*bulkFraction >= len(c.entities):
		c.scanTables(dst)
	default:
		for word, bitsLeft := range c.dirty {
			for bitsLeft != 0 {
				slot := word*64 + bits.TrailingZeros64(bitsLeft)
				bitsLeft &= bitsLeft - 1
				dst[slot] = *c.comps.GetUnchecked(c.entities[slot])
			}
		}
	}
	clear(c.dirty)
	c.nDirty = 0
	bytes := n * c.Stride()
	c.stats.LastBytes, c.stats.LastWrites = bytes, n
	c.stats.TotalBytes += uint64(bytes)
	c.mapper.CountUpload(bytes, n)
}

// copyTables copies every table into its cached slot range. It reports
// false (and copies nothing more) if a table no longer matches the cache.
func (c *Column[T]) copyTables(dst []T) bool {
	q := c.all.Query()
	k := 0
	for q.NextTable() {
		values := q.GetColumns()
		if k >= len(c.layout) || len(values) != c.layout[k].n {
			q.Close()
			c.layoutValid = false
			return false
		}
		start := c.layout[k].start
		copy(dst[start:start+len(values)], values)
		k++
	}
	return k == len(c.layout)
}

// scanTables walks the tables entity by entity, copying the dirty rows,
// and rebuilds the layout cache when every table turns out to occupy one
// consecutive slot range in row order.
func (c *Column[T]) scanTables(dst []T) {
	c.layout = c.layout[:0]
	ordered := true
	q := c.all.Query()
	for q.NextTable() {
		entities, values := q.Entities(), q.GetColumns()
		first := int(c.slotOf[entities[0].ID()] - 1)
		for i, e := range entities {
			slot := int(c.slotOf[e.ID()] - 1)
			ordered = ordered && slot == first+i
			if c.dirty[slot/64]&(1<<(uint(slot)%64)) != 0 {
				dst[slot] = values[i]
			}
		}
		c.layout = append(c.layout, tableSlots{start: first, n: len(entities)})
	}
	c.layoutValid = ordered
}

// upload copies slots [start, end) from the ECS into the buffer in one write.
func (c *Column[T]) upload(start, end int) error {
	c.scratch = c.scratch[:0]
	for slot := start; slot < end; slot++ {
		c.scratch = append(c.scratch, *c.comps.GetUnchecked(c.entities[slot]))
	}
	data := Bytes(c.scratch)
	if err := c.backend.Write(c.buf, start*c.Stride(), data); err != nil {
		return err
	}
	c.stats.LastBytes += len(data)
	c.stats.LastWrites++
	c.stats.TotalBytes += uint64(len(data))
	return nil
}

// Stats reports the column's uploads.
func (c *Column[T]) Stats() ColumnStats { return c.stats }

// Verify reads the whole column back and compares it with the ECS: every
// slot must hold its entity's current value. It is the mirror's invariant
// check, for tests and debug builds; call it right after Sync.
func (c *Column[T]) Verify() error {
	n := len(c.entities)
	if n == 0 {
		return nil
	}
	got := make([]T, n)
	if err := Fetch(c.backend, c.buf, 0, Bytes(got)); err != nil {
		return err
	}
	for slot, e := range c.entities {
		want := *c.comps.Get(e)
		if string(Bytes([]T{want})) != string(Bytes(got[slot:slot+1])) {
			return fmt.Errorf("gpu: slot %d (entity %d) holds %+v, the world has %+v", slot, e.ID(), got[slot], want)
		}
		if s, _, ok := c.Slot(e); !ok || s != slot {
			return fmt.Errorf("gpu: entity %d is in slot %d but maps to %d", e.ID(), slot, s)
		}
	}
	return nil
}
