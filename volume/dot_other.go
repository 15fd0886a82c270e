//go:build !amd64 || purego

package volume

func dot16(a, b []float32) float32 { return dot16Go(a, b) }

func dots(q, vecs []float32, idx []int32, out []float32) { dotsGo(q, vecs, idx, out) }

func dots8(q []int16, vecs []int8, scales []float32, idx []int32, out []float32) {
	dots8Go(q, vecs, scales, idx, out)
}

func prefetchLinks(p *int32) {}
