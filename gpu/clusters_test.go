package gpu_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/rayos/engine/components"
	"github.com/rayos/engine/gpu"
	"pgregory.net/rapid"
)

// drawFleet draws devices as a data centre lays them out — hosts of a few
// devices close together — but also the layouts that break careless
// bounds: far from the origin (where subtracting distances cancels),
// every device at one point, hosts that overlap.
func drawFleet(t *rapid.T) []components.Device {
	n := rapid.IntRange(gpu.ClusterMinDevices, 300).Draw(t, "devices")
	perHost := rapid.IntRange(1, 40).Draw(t, "perHost")
	offset := rapid.SampledFrom([]float32{0, 1e3, 1e5, 1e6}).Draw(t, "offset")
	pitch := rapid.SampledFrom([]float32{0, 0.01, 1, 6, 100}).Draw(t, "pitch")
	spread := rapid.SampledFrom([]float32{0, 0.05, 1, 10}).Draw(t, "spread")
	devices := make([]components.Device, n)
	for i := range devices {
		host := i / perHost
		capacity := float32(rapid.IntRange(1, 400).Draw(t, "capacity"))
		devices[i] = components.Device{
			Position: components.Vec3{
				offset + pitch*float32(host%7) + spread*float32(rapid.Float64Range(-1, 1).Draw(t, "dx")),
				spread * float32(rapid.Float64Range(-1, 1).Draw(t, "dy")),
				offset - pitch*float32(host/7) + spread*float32(rapid.Float64Range(-1, 1).Draw(t, "dz")),
			},
			Capacity:    capacity,
			Load:        capacity * float32(rapid.Float64Range(0, 1).Draw(t, "load")),
			Temperature: float32(rapid.IntRange(20, 95).Draw(t, "temperature")),
			EnergyCost:  float32(rapid.Float64Range(0, 2).Draw(t, "energy")),
			Kind:        uint32(rapid.IntRange(0, 2).Draw(t, "kind")),
		}
	}
	return devices
}

// Pruning with device clusters decides exactly what evaluating every
// device decides — the same actions, byte for byte — for any fleet, any
// non-negative weights, and tasks the bound does not hold for (negative
// demand, non-finite affinity or priority), which evaluate every device.
func TestClusteredPlacementDecidesAsFullEvaluation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		devices := drawFleet(t)
		w := gpu.Weights{
			Locality: rapid.SampledFrom([]float32{1e-3, 0.1, 1, 100}).Draw(t, "wLocality"),
			Load:     rapid.SampledFrom([]float32{0, 1, 4}).Draw(t, "wLoad"),
			Thermal:  rapid.SampledFrom([]float32{0, 2}).Draw(t, "wThermal"),
			Energy:   rapid.SampledFrom([]float32{0, 0.5}).Draw(t, "wEnergy"),
			Priority: rapid.SampledFrom([]float32{0, 1}).Draw(t, "wPriority"),
		}
		if !gpu.Clusterable(w, devices) {
			t.Fatalf("a valid fleet of %d devices is not clusterable", len(devices))
		}
		tasks := make([]components.ComputeTask, rapid.IntRange(1, 200).Draw(t, "tasks"))
		current := make([]uint32, len(tasks))
		for i := range tasks {
			near := devices[rapid.IntRange(0, len(devices)-1).Draw(t, "near")].Position
			jitter := float32(rapid.SampledFrom([]float64{0, 0.1, 3, 50}).Draw(t, "jitter"))
			tasks[i] = components.ComputeTask{
				Affinity: components.Vec3{near[0] + jitter*float32(rapid.Float64Range(-1, 1).Draw(t, "ax")), near[1],
					near[2] + jitter*float32(rapid.Float64Range(-1, 1).Draw(t, "az"))},
				Demand:   float32(rapid.IntRange(0, 60).Draw(t, "demand")),
				Priority: float32(rapid.IntRange(0, 4).Draw(t, "priority")),
				Class:    uint32(rapid.SampledFrom([]int{0, 0, 0, 1, 2, 4, 3, 6}).Draw(t, "class")),
			}
			switch rapid.IntRange(0, 9).Draw(t, "oddity") {
			case 0:
				tasks[i].Demand = -tasks[i].Demand - 1
			case 1:
				tasks[i].Affinity[1] = float32(math.NaN())
			case 2:
				tasks[i].Priority = float32(math.Inf(1))
			}
			if rapid.Bool().Draw(t, "placed") {
				current[i] = uint32(rapid.IntRange(1, len(devices)).Draw(t, "current"))
			}
		}
		p := gpu.PlaceParams{TaskCount: uint32(len(tasks)), DeviceCount: uint32(len(devices)), Weights: w, Gain: 0.9,
			RebalanceStride: 1, FitLimit: gpu.FitLimits(devices)}
		want := make([]gpu.PlaceAction, len(tasks))
		want = want[:gpu.PlaceTasks(&p, tasks, devices, current, want)]
		clusters, order := gpu.BuildClusters(devices, nil, nil)
		p.ClusterCount = uint32(len(clusters))
		got := make([]gpu.PlaceAction, len(tasks))
		got = got[:gpu.PlaceTasksClustered(&p, tasks, devices, current, clusters, order, got)]
		if !bytes.Equal(gpu.Bytes(got), gpu.Bytes(want)) {
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Fatalf("decision %d: pruned %+v, full %+v", i, got[i], want[i])
				}
			}
			t.Fatalf("pruned: %d decisions, full: %d", len(got), len(want))
		}
	})
}

// Every device is in exactly one cluster, of at most ClusterLeaf, and
// inside its sphere as the kernels measure it (float32); the same fleet
// gives the same clusters.
func TestBuildClustersCoversEveryDeviceOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		devices := drawFleet(t)
		clusters, order := gpu.BuildClusters(devices, nil, nil)
		seen := make([]bool, len(devices))
		next := uint32(0)
		for _, c := range clusters {
			if c.First != next || c.Count == 0 || c.Count > gpu.ClusterLeaf {
				t.Fatalf("cluster %+v after %d listed devices", c, next)
			}
			next += c.Count
			for _, d := range order[c.First : c.First+c.Count] {
				if seen[d] {
					t.Fatalf("device %d in two clusters", d)
				}
				seen[d] = true
				p := devices[d].Position
				dx, dy, dz := p[0]-c.Center[0], p[1]-c.Center[1], p[2]-c.Center[2]
				if dist := float32(math.Sqrt(float64(dx*dx + dy*dy + dz*dz))); dist > c.Radius {
					t.Fatalf("device %d at %v is %g from the centre of %+v", d, p, dist, c)
				}
			}
		}
		if int(next) != len(devices) {
			t.Fatalf("clusters list %d devices of %d", next, len(devices))
		}
		again, order2 := gpu.BuildClusters(devices, make([]gpu.Cluster, 3), make([]uint32, 5))
		if !bytes.Equal(gpu.Bytes(again), gpu.Bytes(clusters)) || !bytes.Equal(gpu.Bytes(order2), gpu.Bytes(order)) {
			t.Fatal("the same fleet gave different clusters")
		}
	})
}

// Clustering is refused where the bound would not hold or not pay.
func TestClusterableRefusesWhatBreaksTheBound(t *testing.T) {
	w := gpu.Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1}
	fleet := func() []components.Device {
		d := make([]components.Device, gpu.ClusterMinDevices)
		for i := range d {
			d[i] = components.Device{Position: components.Vec3{float32(i), 0, 0}, Capacity: 10, EnergyCost: 1, Temperature: 40}
		}
		return d
	}
	if !gpu.Clusterable(w, fleet()) {
		t.Fatal("a plain fleet is not clusterable")
	}
	nan := float32(math.NaN())
	for name, spoil := range map[string]func(w *gpu.Weights, d []components.Device){
		"too few devices":    func(w *gpu.Weights, d []components.Device) {},
		"no locality weight": func(w *gpu.Weights, d []components.Device) { w.Locality = 0 },
		"negative weight":    func(w *gpu.Weights, d []components.Device) { w.Energy = -1 },
		"NaN weight":         func(w *gpu.Weights, d []components.Device) { w.Thermal = nan },
		"NaN position":       func(w *gpu.Weights, d []components.Device) { d[3].Position[2] = nan },
		"infinite position":  func(w *gpu.Weights, d []components.Device) { d[3].Position[0] = float32(math.Inf(-1)) },
		"negative load":      func(w *gpu.Weights, d []components.Device) { d[5].Load = -1 },
		"negative energy":    func(w *gpu.Weights, d []components.Device) { d[7].EnergyCost = -0.5 },
		"zero capacity":      func(w *gpu.Weights, d []components.Device) { d[9].Capacity = 0 },
		"NaN temperature":    func(w *gpu.Weights, d []components.Device) { d[11].Temperature = nan },
	} {
		ww, d := w, fleet()
		spoil(&ww, d)
		if name == "too few devices" {
			d = d[:gpu.ClusterMinDevices-1]
		}
		if gpu.Clusterable(ww, d) {
			t.Errorf("%s: clusterable", name)
		}
	}
}
