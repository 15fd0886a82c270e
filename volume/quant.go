package volume

import "math"

// The graph walk scores candidates with 8-bit copies of the vectors: a
// 64-d row is one cache line instead of four, and the integer dot product
// is cheaper than the float one. The copies only choose which nodes the
// walk visits and which it keeps; the kept ones are scored again with
// the exact float dot before anything is returned, so answers carry
// exact scores. Integer sums are exact, so the assembly and the Go code
// agree to the bit without any care for order, and the copies are
// derived from the vectors (never stored): the file and the graph are
// unchanged.

// quantise writes v as symmetric 8-bit values, v[i] ≈ out[i]·scale, with
// scale = max|v[i]|/127 (one per vector, so every row uses its whole
// range). The steps are single float32 operations (no fused multiply-add
// possible), so every machine gets the same bytes.
func quantise(v []float32, out []int8) (scale float32) {
	var m float32
	for _, x := range v {
		if x < 0 {
			x = -x
		}
		if x > m {
			m = x
		}
	}
	if !(m > 0) { // zero (or NaN: refused on the way in)
		clear(out)
		return 0
	}
	inv := 127 / m
	for i, x := range v {
		r := math.Round(float64(x * inv))
		out[i] = int8(max(-127, min(127, r)))
	}
	return m / 127
}

// quantiseQuery is quantise for the query, widened to int16 for the
// kernel; the query's scale is the same for every row, so it is dropped.
func quantiseQuery(v []float32, tmp []int8, out []int16) {
	quantise(v, tmp)
	for i, x := range tmp {
		out[i] = int16(x)
	}
}

// dots8Go is dots8's definition (and its implementation off amd64):
// out[i] is the integer dot product of q with the row idx[i] of vecs
// (rows len(q) long) times that row's scale — the row's similarity to the
// query up to the query's own scale, which is the same for every row.
// The sum is exact; the conversion and the multiply round once each, as
// the assembly's do.
func dots8Go(q []int16, vecs []int8, scales []float32, idx []int32, out []float32) {
	d := len(q)
	for i, s := range idx {
		row := vecs[int(s)*d:][:d]
		var acc int32
		for j, x := range row {
			acc += int32(q[j]) * int32(x)
		}
		out[i] = float32(acc) * scales[s]
	}
}
