// Package viewer is RayOS's live debug viewer: a small web page, served by
// the running engine (`rayos boot --viewer 127.0.0.1:7777`) or offline from
// a snapshot or a replayed journal (`rayos view`), that shows the composed
// frame with surfaces, focus and attention rays drawn over it, a summary
// of the world, an entity browser, the placement map, the marker timeline,
// the per-system tick timings and the guests with what the policy decides
// for each of their actions. It is also where a developer presses
// "present" on a guest: actions go through the same host bridge, policy
// gate and ACKs as `rayos ctl`. And the page is an input device: keys and
// the pointer over the frame become the world's key and pointer inputs
// (input.go), delivered before the next tick for the input broker to route.
//
// The rule that shapes the package is that the viewer never blocks or
// slows the tick. The tick goroutine only ever hands data over without
// waiting:
//
//   - [Server.AfterTick] fills a publication (markers, ACKs, a summary of the
//     world at most every StateInterval, the placement map every
//     PlacementInterval, the frame's recomposed tiles) from a fixed pool and
//     hands it to the hub goroutine with a non-blocking send; when the hub
//     is behind, the tick keeps accumulating into the publication it holds.
//   - The hub encodes each publication once and hands the bytes to every
//     client: events (markers, ACKs, query answers) through a bounded queue
//     per client — a client whose queue is full is dropped — and the latest
//     summary, placement map and frame as versioned state each client's
//     writer catches up to, so a slow client gets fewer, larger updates.
//   - Entity queries are answered by the tick goroutine from a bounded
//     queue, a few per tick ([Server.Serve]), each with a fixed budget
//     (a page of rows, a bounded scan for a search).
//
// Security: loopback only unless [Config.AllowRemote]; then every request
// needs the token. Actions and tick control need the token even on
// loopback. docs/viewer.md is the user's guide and the protocol.
package viewer
