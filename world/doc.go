// Package world is the heart of RayOS's engine: one ECS world that holds the
// whole control plane, and the fixed, ordered pipeline of systems that
// advances it one tick at a time.
//
// Where to start:
//
//   - [New] builds a [World]: the ark ECS world plus its typed resources —
//     [Clock], the seeded RNG, [Config], [TickStats], the marker bus, the
//     [Inbox] of inputs for the next tick and the [RunState].
//   - A [System] does one step of the tick; a [Scheduler] runs an explicit
//     list of them in order, timing each, and can print itself (Explain).
//   - A [Journal] records every input fed into the world. Same seed + same
//     journal ⇒ same world and same markers: [ReadJournal] and
//     [JournalWriter] are how runs are recorded and replayed.
//   - [World.Snapshot] writes every entity and component as JSON for tools,
//     tests and the viewer.
//
// Nothing in this package reads the wall clock into world state: time in
// the world is tick × fixed Δt, so replays are exact. Wall-clock timings go
// only to [TickStats].
package world
