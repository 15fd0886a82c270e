package gpu

import (
	"math/rand/v2"
	"testing"

	"github.com/rayos/engine/components"
)

// In a data centre's layout — 1,024 devices in hosts of 16 on a 6 m grid,
// each task's data within a metre or so of one host — a task evaluates a
// small fraction of the devices: pruning is what makes placing a million
// tasks affordable, so its effect is asserted as a count (not a time).
func TestClustersPruneMostDevicesOfADataCentre(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	devices := make([]components.Device, 1024)
	for i := range devices {
		host := i / 16
		devices[i] = components.Device{
			Position: components.Vec3{6*float32(host%8) + 0.15*float32(i%4), 0.15 * float32(i%16/4), -6 * float32(host/8)},
			Capacity: 1000, Load: float32(r.IntN(900)), Temperature: 40, EnergyCost: float32(0.5 + r.Float64()), Kind: uint32(r.IntN(3)),
		}
	}
	w := Weights{Locality: 1, Load: 4, Thermal: 2, Energy: 0.5, Priority: 1}
	if !Clusterable(w, devices) {
		t.Fatal("the fleet is not clusterable")
	}
	clusters, order := BuildClusters(devices, nil, nil)
	const tasks = 2000
	evaluated := 0
	for range tasks {
		near := devices[16*r.IntN(64)].Position
		task := components.ComputeTask{Affinity: components.Vec3{near[0] + float32(r.NormFloat64()), 0, near[2] + float32(r.NormFloat64())},
			Demand: float32(1 + r.IntN(30)), Priority: float32(r.IntN(4))}
		s := placement{w: w, task: &task, devices: devices, stayCost: -1}
		s.search(clusters, order)
		if s.best.Device == 0 {
			t.Fatal("a task that fits everywhere found no device")
		}
		evaluated += s.evaluated
	}
	perTask := float64(evaluated) / tasks
	t.Logf("%d clusters; %.1f of %d devices evaluated per task (%.1f× fewer)", len(clusters), perTask, len(devices), float64(len(devices))/perTask)
	if perTask > float64(len(devices))/8 {
		t.Fatalf("%.1f of %d devices evaluated per task: the clusters prune too little", perTask, len(devices))
	}
}

// BuildClusters over a data centre's 1,024 devices: the mirror pays it on
// every placement run.
func BenchmarkBuildClusters(b *testing.B) {
	devices := make([]components.Device, 1024)
	for i := range devices {
		host := i / 16
		devices[i].Position = components.Vec3{6*float32(host%8) + 0.15*float32(i%4), 0.15 * float32(i%16/4), -6 * float32(host/8)}
	}
	var clusters []Cluster
	var order []uint32
	for b.Loop() {
		clusters, order = BuildClusters(devices, clusters, order)
	}
}
