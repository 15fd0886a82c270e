// Package bench measures RayOS's engine against hand-written baselines run
// in the same process, so the figures are ratios that survive a noisy
// machine. `make bench` runs the Go benchmarks here and in systems/policy/,
// then bench/report turns their output into the tables of bench/RESULTS.md;
// a failed or missing benchmark fails both, rather than leaving a row out.
//
// Families (each "ecs" variant is the real system; the others are the
// baselines it is held to):
//
//   - BenchmarkAttentionDecay: the attention-decay system over N rays
//     (10k, 100k, 1M) vs a plain []AttentionRay loop, a per-field []float32
//     loop, and ark's entity-by-entity query.
//   - BenchmarkEmptyTick: scheduler overhead of a tick of 10 empty systems.
//   - BenchmarkDemoTick: one full tick of the demo world.
//   - BenchmarkControlLatency, BenchmarkControlLoad: control request → ACK
//     latency in ticks, and every request answered under load.
//   - BenchmarkMirrorSync, BenchmarkUpload, BenchmarkKernel*,
//     BenchmarkSubmit: GPU residency, run by bench/gpu.sh.
package bench
