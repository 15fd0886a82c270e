package world

import "github.com/rayos/engine/components"

// Inbox holds the inputs fed into the world for the next tick. The runtime
// feeds it (from the journal, the control socket, signals) between ticks;
// the input system drains it at the start of the tick. Its storage is
// reused, so steady-state feeding does not allocate.
type Inbox struct {
	pending []components.Input
	seq     uint64
	// OnFeed, when set, sees every input as it is fed, with its tick; the
	// runtime uses it to record the journal.
	OnFeed func(tick uint64, in components.Input)
}

// Feed queues in for the tick that runs next (clock.Tick+1), stamping its
// Seq and TimeNs, and returns the stamped input.
func (b *Inbox) Feed(clock *Clock, in components.Input) components.Input {
	b.seq++
	in.Seq = b.seq
	next := clock.Tick + 1
	in.TimeNs = int64(next) * int64(clock.Dt)
	b.pending = append(b.pending, in)
	if b.OnFeed != nil {
		b.OnFeed(next, in)
	}
	return in
}

// Drain returns the queued inputs and empties the inbox. The returned slice
// is valid until the next Feed.
func (b *Inbox) Drain() []components.Input {
	out := b.pending
	b.pending = b.pending[:0]
	return out
}

// Len is the number of queued inputs.
func (b *Inbox) Len() int { return len(b.pending) }
