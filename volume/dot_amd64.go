//go:build amd64 && !purego

package volume

// dot16 is dot16Go in SSE (every amd64 has it: no feature check). Build
// with -tags purego to use the Go version here too.
func dot16(a, b []float32) float32 {
	return dot16SSE(&a[0], &b[0], len(a))
}

//go:noescape
func dot16SSE(a, b *float32, n int) float32

// dots sets out[i] to dot16(q, the row idx[i] of vecs); len(q) is the row
// length, a positive multiple of 16, and len(out) ≥ len(idx). Every row
// must lie inside vecs: the caller's indices are graph nodes.
func dots(q, vecs []float32, idx []int32, out []float32) {
	if len(idx) == 0 {
		return
	}
	_ = out[len(idx)-1]
	dotsSSE(&q[0], &vecs[0], len(q), &idx[0], len(idx), &out[0])
}

//go:noescape
func dotsSSE(q, vecs *float32, dim int, idx *int32, n int, out *float32)

// dots8 sets out[i] to the 8-bit similarity of q with the row idx[i] of
// vecs (dots8Go's definition); len(q) is the row length, a positive
// multiple of 16.
func dots8(q []int16, vecs []int8, scales []float32, idx []int32, out []float32) {
	if len(idx) == 0 {
		return
	}
	_ = out[len(idx)-1]
	dots8SSE(&q[0], &vecs[0], &scales[0], len(q), &idx[0], len(idx), &out[0])
}

//go:noescape
func dots8SSE(q *int16, vecs *int8, scales *float32, dim int, idx *int32, n int, out *float32)

// prefetchLinks starts loading the 192 bytes at p (a hint: no effect on
// results).
//
//go:noescape
func prefetchLinks(p *int32)
