package gpu

import (
	"math"

	"github.com/rayos/engine/components"
)

// The CPU twins of the kernels in package shaders. They are the reference:
// each is written in the same operation order as its GLSL, and every
// product is rounded explicitly with float32(…) because Go may otherwise
// fuse a*b+c into one FMA on some targets, while the shaders mark the same
// arithmetic `precise`.

func mul(a, b float32) float32 { return float32(a * b) }

// HitParams is the params buffer of the hit kernel.
type HitParams struct {
	RayCount, SurfaceCount uint32
}

// Hit is the hit kernel's result for one ray: the index of the surface it
// hits nearest (into the surfaces array), or -1, and the distance.
type Hit struct {
	Index int32
	T     float32
}

// HitTest is the twin of hit.comp: for each ray with a non-zero weight,
// the nearest visible surface its quad test accepts; ties go to the higher
// layer, then the higher z.
func HitTest(rays []components.AttentionRay, surfaces []components.Surface, hits []Hit) {
	for r := range rays {
		ray := &rays[r]
		best, bestT := int32(-1), float32(0)
		if ray.Weight != 0 {
			for i := range surfaces {
				s := &surfaces[i]
				if s.Flags&components.SurfaceVisible == 0 {
					continue
				}
				t, ok := hitQuad(ray, s)
				if !ok {
					continue
				}
				if best < 0 || t < bestT || t == bestT && onTop(s, &surfaces[best]) {
					best, bestT = int32(i), t
				}
			}
		}
		hits[r] = Hit{Index: best, T: bestT}
	}
}

func onTop(a, b *components.Surface) bool {
	if a.Layer != b.Layer {
		return a.Layer > b.Layer
	}
	return a.Z > b.Z
}

func hitQuad(ray *components.AttentionRay, s *components.Surface) (float32, bool) {
	r, u, o, d, c := &s.Right, &s.Up, &ray.Origin, &ray.Direction, &s.Center
	n := components.Vec3{
		mul(r[1], u[2]) - mul(r[2], u[1]),
		mul(r[2], u[0]) - mul(r[0], u[2]),
		mul(r[0], u[1]) - mul(r[1], u[0]),
	}
	denom := mul(d[0], n[0]) + mul(d[1], n[1]) + mul(d[2], n[2])
	if denom > -1e-6 && denom < 1e-6 {
		return 0, false // parallel to the surface
	}
	co := components.Vec3{c[0] - o[0], c[1] - o[1], c[2] - o[2]}
	t := (mul(co[0], n[0]) + mul(co[1], n[1]) + mul(co[2], n[2])) / denom
	if t <= 0 {
		return 0, false // behind the eye
	}
	p := components.Vec3{o[0] + mul(t, d[0]) - c[0], o[1] + mul(t, d[1]) - c[1], o[2] + mul(t, d[2]) - c[2]}
	pu := mul(p[0], r[0]) + mul(p[1], r[1]) + mul(p[2], r[2])
	pv := mul(p[0], u[0]) + mul(p[1], u[1]) + mul(p[2], u[2])
	if pu < -s.HalfWidth || pu > s.HalfWidth || pv < -s.HalfHeight || pv > s.HalfHeight {
		return 0, false
	}
	return t, true
}

// Weights scale the placement cost terms.
type Weights struct {
	Locality, Load, Thermal, Energy, Priority float32
}

// PlaceParams is the params buffer of the place kernel.
type PlaceParams struct {
	TaskCount, DeviceCount uint32
	Weights                Weights
	Pad                    uint32
}

// Thermal cost: heat above ThermalKnee °C costs, reaching the full weight
// ThermalRange °C later.
const (
	ThermalKnee  = 55
	ThermalRange = 30
)

// PlacementTerms computes the named cost terms of putting task on dev when
// the device already carries load (not counting the task). ok is false when
// the task does not fit or the device's kind does not serve its class.
// Placement.Device is left 0 for the caller to fill in.
func PlacementTerms(w Weights, task *components.ComputeTask, dev *components.Device, load float32) (p components.Placement, ok bool) {
	if task.Class != 0 && task.Class&(1<<dev.Kind) == 0 {
		return p, false
	}
	after := (load + task.Demand) / dev.Capacity
	if after > 1 {
		return p, false
	}
	prio := max(task.Priority, 1)
	dx := task.Affinity[0] - dev.Position[0]
	dy := task.Affinity[1] - dev.Position[1]
	dz := task.Affinity[2] - dev.Position[2]
	p.Locality = mul(w.Locality, float32(math.Sqrt(float64(mul(dx, dx)+mul(dy, dy)+mul(dz, dz)))))
	p.Load = mul(w.Load, after)
	p.Thermal = mul(w.Thermal, max(0, dev.Temperature-ThermalKnee)) / ThermalRange
	p.Energy = mul(mul(w.Energy, dev.EnergyCost), task.Demand) / 8
	// Priority: important tasks pay more for a busy device, so they end up
	// where they are served first.
	p.Priority = mul(mul(w.Priority, prio-1), load) / dev.Capacity
	p.Cost = p.Locality + p.Load + p.Thermal + p.Energy + p.Priority
	return p, true
}

// PlaceTasks is the twin of place.comp: for each task, the device with the
// lowest total cost given the devices' loads less the task's own demand
// (current[t] is 1 + the slot the task is on, 0 if none). out[t].Device is
// 1 + the chosen slot, 0 if the task fits nowhere; the first of equal
// costs wins. stay[t] is the cost of the task's current device, -1 when it
// is unplaced or no longer fits there.
func PlaceTasks(w Weights, tasks []components.ComputeTask, devices []components.Device, current []uint32, out []components.Placement, stay []float32) {
	for t := range tasks {
		task := &tasks[t]
		var best components.Placement
		stayCost := float32(-1)
		for d := range devices {
			dev := &devices[d]
			load := dev.Load
			if current[t] == uint32(d)+1 {
				load -= task.Demand
			}
			p, ok := PlacementTerms(w, task, dev, load)
			if !ok {
				continue
			}
			if current[t] == uint32(d)+1 {
				stayCost = p.Cost
			}
			if best.Device == 0 || p.Cost < best.Cost {
				best = p
				best.Device = uint32(d) + 1
			}
		}
		out[t] = best
		stay[t] = stayCost
	}
}

// ComposeParams is the params buffer of the compose kernel.
type ComposeParams struct {
	Width, Height uint32
	// Count is how many entries of order[] to draw.
	Count uint32
	// Background is the RGBA8 colour under everything.
	Background uint32
}

// Texture says where a surface's texels are in the atlas.
type Texture struct {
	Offset, Width, Height, Pad uint32
}

// RGBA packs a colour as the kernels store it: R in the low byte, A in the
// high byte (bytes R, G, B, A in memory).
func RGBA(r, g, b, a uint8) uint32 {
	return uint32(r) | uint32(g)<<8 | uint32(b)<<16 | uint32(a)<<24
}

// Blend puts src over dst with src's alpha, rounding each channel; the
// result is opaque.
func Blend(src, dst uint32) uint32 {
	a := src >> 24
	out := uint32(0xff000000)
	for shift := uint32(0); shift < 24; shift += 8 {
		s := src >> shift & 0xff
		d := dst >> shift & 0xff
		out |= (s*a + d*(255-a) + 127) / 255 << shift
	}
	return out
}

// Compose is the twin of compose.comp: every pixel of frame is the
// background with the surfaces of order[:Count] blended over it in order,
// each sampling its texture nearest-neighbour over its Rect.
//
// The kernel works per pixel, looping over the surfaces (one invocation per
// pixel suits a GPU); the twin rasterises surface by surface, touching only
// the pixels each one covers (what suits a CPU). Each pixel still sees the
// same blends in the same order with the same integer arithmetic, so the
// results are identical.
func Compose(p ComposeParams, surfaces []components.Surface, order []uint32, textures []Texture, texels []uint32, frame []uint32) {
	width, height := int32(p.Width), int32(p.Height)
	frame = frame[:width*height]
	for i := range frame {
		frame[i] = p.Background
	}
	for _, slot := range order[:p.Count] {
		r := surfaces[slot].Rect
		tex := textures[slot]
		if tex.Width == 0 || tex.Height == 0 {
			continue
		}
		x0, y0 := max(r.X, 0), max(r.Y, 0)
		x1, y1 := min(r.X+r.W, width), min(r.Y+r.H, height)
		for y := y0; y < y1; y++ {
			ty := uint32(y-r.Y) * tex.Height / uint32(r.H)
			row := texels[tex.Offset+ty*tex.Width : tex.Offset+(ty+1)*tex.Width]
			line := frame[y*width : (y+1)*width]
			for x := x0; x < x1; x++ {
				tx := uint32(x-r.X) * tex.Width / uint32(r.W)
				line[x] = Blend(row[tx], line[x])
			}
		}
	}
}
