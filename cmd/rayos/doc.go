// Command rayos is the one RayOS binary. Each subcommand is a thin layer of
// flags over a package that does the work:
//
//	rayos boot      boot the runtime (package boot) and tick until stopped
//	rayos replay    re-run a recorded journal and print its markers
//	rayos ctl       send one control request to a running RayOS (guests)
//	rayos policy    check a policy file or explain a decision (systems/policy)
//	rayos guest     list, add, remove or show registry VMs (guests)
//	rayos bench     tick a headless synthetic world and report its costs (bench)
//	rayos version   print the version
//
// Markers go to stdout, diagnostics (log/slog) to stderr. Exit status 0 on
// success and clean shutdown, 1 on a runtime error (or an err ACK for ctl),
// 2 on bad usage.
package main
