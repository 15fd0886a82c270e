// Package workload moves a churning world's compute: each tick, before the
// scheduler runs, some tasks finish and leave, as many new ones arrive
// unplaced, and now and then a device takes heat from outside the thermal
// model. That is what keeps a capacity-matched world's scheduler working
// in steady state, as a real fleet's does, instead of settling after a few
// ticks.
//
// The rates come from the world's scene.Churn resource, set by the scene
// builder (stress, datacenter); a world without one (demo, desktop,
// overload) is left alone. Every draw uses the world's seeded RNG, so a
// churning world is as deterministic as any other: same seed and journal,
// same world and markers.
package workload
