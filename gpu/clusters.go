package gpu

import (
	"math"
	"slices"

	"github.com/rayos/engine/components"
)

// ClusterLeaf is the most devices BuildClusters puts in one cluster: small
// enough that a task evaluates little beyond its nearest host, big enough
// that a thousand devices make only some sixty clusters to bound.
const ClusterLeaf = 16

// ClusterMinDevices is the fewest devices worth clustering: below it,
// evaluating every device costs less than bounding the clusters.
const ClusterMinDevices = 4 * ClusterLeaf

// Clusterable says whether the place kernel may prune with clusters for
// these weights and devices: the bound needs every cost term but locality
// to be ≥ 0 on every device (weights ≥ 0, load and energy cost ≥ 0,
// positive capacity, finite fields), a locality weight > 0 to prune with at
// all, and enough devices to gain from it. Otherwise the kernel evaluates
// every device, as it always may.
func Clusterable(w Weights, devices []components.Device) bool {
	if len(devices) < ClusterMinDevices || !(w.Locality > 0) || !finite(w.Locality) {
		return false
	}
	for _, x := range []float32{w.Load, w.Thermal, w.Energy, w.Priority} {
		if !(x >= 0) || !finite(x) {
			return false
		}
	}
	for i := range devices {
		d := &devices[i]
		if !finite(d.Position[0]) || !finite(d.Position[1]) || !finite(d.Position[2]) ||
			!(d.Capacity > 0) || !finite(d.Capacity) || !(d.Load >= 0) || !finite(d.Load) ||
			!(d.EnergyCost >= 0) || !finite(d.EnergyCost) || !finite(d.Temperature) {
			return false
		}
	}
	return true
}

// BuildClusters groups the devices into clusters of at most ClusterLeaf
// nearby ones — halving the set at the median of its widest axis until
// the halves are small enough, the way a k-d tree is built — and returns
// them with the device slots listed cluster by cluster (reusing the
// slices' storage). It is deterministic: the same positions give the same
// clusters, whatever the map or goroutine order around it.
//
// Each sphere is centred on its devices' mean and its radius reaches the
// farthest of them, computed in float64 and widened by 1e-5 relative plus
// 1e-6 absolute, so that no device lies outside it once the centre is
// rounded to float32.
func BuildClusters(devices []components.Device, clusters []Cluster, order []uint32) ([]Cluster, []uint32) {
	clusters, order = clusters[:0], order[:0]
	for d := range devices {
		order = append(order, uint32(d))
	}
	var split func(lo, hi int)
	split = func(lo, hi int) {
		part := order[lo:hi]
		if len(part) <= ClusterLeaf {
			clusters = append(clusters, sphere(devices, part, uint32(lo)))
			return
		}
		axis := widestAxis(devices, part)
		slices.SortFunc(part, func(a, b uint32) int {
			pa, pb := devices[a].Position[axis], devices[b].Position[axis]
			switch {
			case pa < pb:
				return -1
			case pa > pb:
				return 1
			}
			return int(a) - int(b) // equal positions: by slot, for determinism
		})
		mid := lo + len(part)/2
		split(lo, mid)
		split(mid, hi)
	}
	split(0, len(order))
	return clusters, order
}

func widestAxis(devices []components.Device, part []uint32) int {
	lo, hi := devices[part[0]].Position, devices[part[0]].Position
	for _, d := range part[1:] {
		p := devices[d].Position
		for a := range 3 {
			lo[a], hi[a] = min(lo[a], p[a]), max(hi[a], p[a])
		}
	}
	axis := 0
	for a := 1; a < 3; a++ {
		if hi[a]-lo[a] > hi[axis]-lo[axis] {
			axis = a
		}
	}
	return axis
}

func sphere(devices []components.Device, part []uint32, first uint32) Cluster {
	var mean [3]float64
	for _, d := range part {
		for a := range 3 {
			mean[a] += float64(devices[d].Position[a])
		}
	}
	var c Cluster
	for a := range 3 {
		c.Center[a] = float32(mean[a] / float64(len(part)))
	}
	var radius float64
	for _, d := range part {
		var sq float64
		for a := range 3 {
			x := float64(devices[d].Position[a]) - float64(c.Center[a])
			sq += x * x
		}
		radius = max(radius, math.Sqrt(sq))
	}
	c.Radius = float32(radius*(1+1e-5) + 1e-6)
	c.First, c.Count = first, uint32(len(part))
	return c
}
