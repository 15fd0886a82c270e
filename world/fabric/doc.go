// Package fabric describes the compute hardware RayOS places work on: the
// host's CPUs (package, core, SMT siblings, shared caches, NUMA node, as
// /sys tells them), the GPUs the compute backend enumerated, and where
// each sits in fabric space — positions chosen so that hardware that
// shares more is nearer, which is what the scheduler's locality term and
// its spatial index read. It also finds the machine's temperature sensors
// (thermal zones, hwmon) and reads them per device, and loads and writes
// the TOML fabric file (a described machine, and the journal's record of
// a discovered one). It is plain Go: the boot wiring turns a Fabric into
// Device entities. docs/fabric.md is the user-facing description.
package fabric
