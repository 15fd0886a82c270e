package fabric

import (
	"math"
	"slices"
)

// Origin is where a laid-out fabric's centre sits in scene space: ahead of
// the viewer, where the demo's task data lies, so locality means the same
// thing for a discovered fabric as for the scene's synthetic devices.
var Origin = [3]float64{0, 1, -6}

// Gaps are the least spacing between neighbours at each level of the
// layout, innermost first: SMT threads of a core, cores sharing a cache,
// cache groups of a package, packages (and GPUs) of a NUMA node, nodes.
// A level spaces its children further when they are large, so that
// every level keeps its promise: two devices in the same child are nearer
// than any two in different children.
var Gaps = [5]float64{0.1, 0.4, 1.2, 3, 8}

// levelKeys group devices from the outermost level (NUMA node) in; a GPU
// is a group of its own at the package level, so it sits among its node's
// packages.
var levelKeys = [4]func(d *Device, i int) int{
	func(d *Device, i int) int { return d.NUMA },
	func(d *Device, i int) int {
		if d.Kind != KindCPU {
			return -1_000_000 - i
		}
		return d.Package
	},
	func(d *Device, i int) int { return d.Cache },
	func(d *Device, i int) int {
		if d.Core < 0 {
			return -1_000_000 - i // unknown core: a core of its own
		}
		return d.Core
	},
}

type vec [3]float64

func (a vec) sub(b vec) vec { return vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec) norm() float64 { return math.Sqrt(a[0]*a[0] + a[1]*a[1] + a[2]*a[2]) }

// layout sets the position of every device not Fixed.
func layout(devs []Device) {
	var idx []int
	for i := range devs {
		if !devs[i].Fixed {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	pos := map[int]vec{}
	arrange(devs, idx, 0, pos)
	var c vec
	for _, p := range pos {
		for k := range c {
			c[k] += p[k] / float64(len(pos))
		}
	}
	for i, p := range pos {
		for k := range p {
			devs[i].Position[k] = float32(p[k] - c[k] + Origin[k])
		}
	}
}

// arrange lays out the devices idx at level (0 = NUMA node … 4 = threads)
// around the origin, writing pos, and returns their radius.
func arrange(devs []Device, idx []int, level int, pos map[int]vec) float64 {
	if level == len(levelKeys) {
		// SMT threads of one core, in a short line along y.
		for j, i := range idx {
			pos[i] = vec{0, (float64(j) - float64(len(idx)-1)/2) * Gaps[0], 0}
		}
		return float64(len(idx)-1) / 2 * Gaps[0]
	}
	groups := map[int][]int{}
	for _, i := range idx {
		k := levelKeys[level](&devs[i], i)
		groups[k] = append(groups[k], i)
	}
	keys := make([]int, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	radius := 0.0
	for _, k := range keys {
		radius = max(radius, arrange(devs, groups[k], level+1, pos))
	}
	if len(keys) == 1 {
		return radius
	}
	// Children on a square grid in the x-z plane; spacing > 4 × the
	// largest child radius keeps points of different children further
	// apart than any two points of one child.
	gap := max(Gaps[len(Gaps)-1-level], 4.5*radius)
	cols := int(math.Ceil(math.Sqrt(float64(len(keys)))))
	rows := (len(keys) + cols - 1) / cols
	for n, k := range keys {
		off := vec{(float64(n%cols) - float64(cols-1)/2) * gap, 0, (float64(n/cols) - float64(rows-1)/2) * gap}
		for _, i := range groups[k] {
			p := pos[i]
			pos[i] = vec{p[0] + off[0], p[1], p[2] + off[2]}
		}
	}
	var far float64
	for _, k := range keys {
		for _, i := range groups[k] {
			far = max(far, pos[i].norm())
		}
	}
	return far
}

// Distance is the Euclidean distance between two devices' positions.
func Distance(a, b *Device) float64 {
	var v vec
	for k := range v {
		v[k] = float64(a.Position[k]) - float64(b.Position[k])
	}
	return v.norm()
}
