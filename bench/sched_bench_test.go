package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/systems/gpusync"
	"github.com/rayos/engine/systems/schedule"
	"github.com/rayos/engine/world"
)

// placeInput is a data-centre-like fabric: devices in racks of 16 along a
// row, tasks whose data sits near some rack.
func placeInput(nTasks, nDevices int) ([]components.ComputeTask, []components.Device) {
	r := rand.New(rand.NewPCG(1, 2))
	devices := make([]components.Device, nDevices)
	for i := range devices {
		rack := i / 16
		devices[i] = components.Device{
			Position: components.Vec3{float32(rack%32) * 4, float32(i % 16 / 4), float32(rack/32)*6 + float32(i%4)},
			Capacity: 1000, Load: float32(r.IntN(600)), Temperature: 40, EnergyCost: 1, Kind: 1, Slot: uint32(i),
		}
	}
	tasks := make([]components.ComputeTask, nTasks)
	for i := range tasks {
		d := devices[r.IntN(nDevices)].Position
		tasks[i] = components.ComputeTask{Affinity: components.Vec3{d[0] + float32(r.Float64()), d[1], d[2] + float32(r.Float64())}, Demand: 1, Priority: 1}
	}
	return tasks, devices
}

// BenchmarkPlacement: placement decisions per second of the CPU twin on
// one core, with the cluster index and with the exhaustive scan of every
// device (the baseline: what the index buys). Every task is placed and
// reconsidered in a window of 1/64 of them per run, as the scheduler's
// rebalance does; placements/s counts tasks decided.
func BenchmarkPlacement(b *testing.B) {
	for _, size := range []struct{ tasks, devices int }{{10_000, 64}, {1_000_000, 1024}} {
		tasks, devices := placeInput(size.tasks, size.devices)
		current := make([]uint32, len(tasks))
		for i := range current {
			current[i] = uint32(1 + i%len(devices))
		}
		clusters, order := gpu.BuildClusters(devices, nil, nil)
		actions := make([]gpu.PlaceAction, len(tasks))
		p := gpu.PlaceParams{TaskCount: uint32(len(tasks)), DeviceCount: uint32(len(devices)), Weights: gpu.DefaultMirrorConfig.Weights,
			Gain: 0.9, RebalanceStride: 64, FitLimit: gpu.FitLimits(devices)}
		per := len(tasks) / 64
		for _, mode := range []string{"index", "exhaustive"} {
			b.Run(fmt.Sprintf("%dx%d/%s", size.tasks, size.devices, mode), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					p.RebalancePhase = uint32(i % 64)
					if mode == "index" {
						p.ClusterCount = uint32(len(clusters))
						gpu.PlaceTasksClustered(&p, tasks, devices, current, clusters, order, actions)
					} else {
						gpu.PlaceTasks(&p, tasks, devices, current, actions)
					}
				}
				b.ReportMetric(float64(per)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
			})
		}
	}
}

// BenchmarkScheduleShock: the schedule system's tick on the CPU backend,
// 10k tasks × 64 devices, after a load shock — every task's data next to
// one rack — with the migrations per tick and the ticks until diffusion
// has brought every device within its band.
func BenchmarkScheduleShock(b *testing.B) {
	tasks, devices := placeInput(10_000, 64)
	const ticks = 300
	var converged int
	var peak, moves uint64
	for b.Loop() {
		b.StopTimer()
		w := world.New(world.Config{Hz: 60, Seed: 1}, nil)
		dm := ecs.NewMap1[components.Device](w.ECS)
		for _, d := range devices {
			d.Load, d.Capacity = 0, 200
			dm.NewEntity(&d)
		}
		tm := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
		for _, t := range tasks {
			t.Affinity = devices[0].Position
			tm.NewEntity(&t, &components.Placement{})
		}
		if _, err := gpu.Install(w.ECS, gpu.NewCPU(), gpu.DefaultMirrorConfig); err != nil {
			b.Fatal(err)
		}
		sched, err := world.NewScheduler(w, schedule.New(), gpusync.NewSubmit())
		if err != nil {
			b.Fatal(err)
		}
		res := ecs.NewResource[components.SchedStats](w.ECS)
		b.StartTimer()
		converged, peak, moves = -1, 0, 0
		for tick := range ticks {
			sched.Tick(w)
			st := res.Get()
			n := st.Last[components.ReasonOverload] + st.Last[components.ReasonThermal] + st.Last[components.ReasonCheaper]
			peak, moves = max(peak, n), moves+n
			if tick > 3 && n == 0 && converged < 0 && st.Last[components.ReasonPlaced] == 0 {
				converged = tick
			}
			if n != 0 {
				converged = -1
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(ticks*b.N), "ns/tick")
	b.ReportMetric(float64(peak), "peak-migrations/tick")
	b.ReportMetric(float64(moves)/ticks, "migrations/tick")
	b.ReportMetric(float64(converged), "ticks-to-converge")
}

// BenchmarkPlacementPool: the same placements as BenchmarkPlacement at
// 1M × 1,024, through the real path — a world's mirror on the CPU
// backend, whose pool runs the place kernel's twin over every core
// (cpu) — against that backend on one thread (cpu-serial), in the same
// run. Each op is one submit + collect of a rebalance window of 1/64 of
// the tasks, every task placed; decisions are not applied.
func BenchmarkPlacementPool(b *testing.B) {
	const nTasks, nDevices = 1_000_000, 1024
	tasks, devices := placeInput(nTasks, nDevices)
	serial := gpu.NewCPUWorkers(1)
	pool := gpu.NewCPU()
	b.Cleanup(func() { serial.Close(); pool.Close() })
	for _, v := range []struct {
		name    string
		backend gpu.Backend
	}{{"cpu", pool}, {"cpu-serial", serial}} {
		b.Run(fmt.Sprintf("%dx%d/%s", nTasks, nDevices, v.name), func(b *testing.B) {
			w := world.New(world.Config{Hz: 60, Seed: 1}, nil)
			dm := ecs.NewMap1[components.Device](w.ECS)
			devs := make([]ecs.Entity, nDevices)
			for i := range devices {
				devs[i] = dm.NewEntity(&devices[i])
			}
			// Every task placed (the mirror's first run derives its task →
			// device array from the Placements).
			tm := ecs.NewMap2[components.ComputeTask, components.Placement](w.ECS)
			i := 0
			tm.NewBatchFn(nTasks, func(_ ecs.Entity, t *components.ComputeTask, p *components.Placement) {
				*t, p.Device = tasks[i], devs[i%nDevices].ID()
				i++
			})
			m, err := gpu.Install(w.ECS, v.backend, gpu.DefaultMirrorConfig)
			if err != nil {
				b.Fatal(err)
			}
			m.PlaceGain, m.RebalanceStride = 0.9, 64
			run := func(phase int) {
				m.PlaceRequested, m.RebalancePhase = true, uint32(phase%64)
				if err := m.Submit(); err != nil {
					b.Fatal(err)
				}
				if err := m.Collect(); err != nil {
					b.Fatal(err)
				}
			}
			run(0) // uploads everything once
			for k := 0; b.Loop(); k++ {
				run(k + 1)
			}
			b.ReportMetric(float64(nTasks/64)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
