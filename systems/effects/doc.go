// Package effects carries out allowed intents. Presenting and hiding are
// RayOS's own business and complete within the tick; everything that needs
// the hypervisor (start, shutdown, suspend, resume, input injection) is
// handed to an [Executor] and completes later, when its result comes back
// as an effect input — so results are journaled and a replay needs no
// hypervisor. Hypervisor lifecycle events arrive the same way and keep the
// Guest components true to what the hypervisor sees.
//
// Every lifecycle action and injection is audited (RAYOS_AUDIT), every
// guest state change announced (RAYOS_GUEST).
package effects
