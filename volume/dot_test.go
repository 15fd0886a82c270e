package volume

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dotRef is dot written out plainly from dot16Go's definition.
func dotRef(a, b []float32) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = dot16Go(a[:n], b[:n])
	}
	for i := n; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}

// TestDotBitIdentical: the assembly (on amd64) and the Go definition give
// the same bits for every length, so graphs built on different machines
// (or with -tags purego) are the same. It also checks both against a
// float64 sum, so a wrong lane order that is merely consistent would
// still fail on the value.
func TestDotBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for n := 0; n <= 200; n++ {
		for round := 0; round < 20; round++ {
			a, b := make([]float32, n), make([]float32, n+round%3) // b may be longer
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			for i := range b {
				b[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
			}
			got, want := dot(a, b), dotRef(a, b)
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("n %d: dot %v (%08x), Go definition %v (%08x)", n, got, math.Float32bits(got), want, math.Float32bits(want))
			}
			var f float64
			for i := range a {
				f += float64(a[i]) * float64(b[i])
			}
			var mag float64
			for i := range a {
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if math.Abs(float64(got)-f) > 1e-5*mag+1e-30 {
				t.Fatalf("n %d: dot %v, float64 sum %v", n, got, f)
			}
		}
	}
}

func BenchmarkDot64(b *testing.B) {
	x, y := make([]float32, 64), make([]float32, 64)
	for i := range x {
		x[i], y[i] = float32(i), float32(64-i)
	}
	var s float32
	for i := 0; i < b.N; i++ {
		s += dot(x, y)
	}
	_ = s
}

func BenchmarkDot64Go(b *testing.B) {
	x, y := make([]float32, 64), make([]float32, 64)
	for i := range x {
		x[i], y[i] = float32(i), float32(64-i)
	}
	var s float32
	for i := 0; i < b.N; i++ {
		s += dotRef(x, y)
	}
	_ = s
}

// TestDotsBitIdentical: the batched kernel gives dot16's bits row by row.
func TestDotsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, d := range []int{16, 32, 64, 256} {
		rows := 300
		vecs := make([]float32, rows*d)
		for i := range vecs {
			vecs[i] = float32(r.NormFloat64())
		}
		q := vecs[5*d : 6*d]
		for n := 0; n < 70; n++ {
			idx := make([]int32, n)
			for i := range idx {
				idx[i] = int32(r.IntN(rows))
			}
			got, want := make([]float32, n+1), make([]float32, n+1)
			got[n], want[n] = 42, 42 // past the end: untouched
			dots(q, vecs, idx, got)
			dotsGo(q, vecs, idx, want)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("dim %d n %d: out[%d] %v, want %v", d, n, i, got[i], want[i])
				}
				if i < n {
					if ref := dotRef(q, vecs[int(idx[i])*d:int(idx[i]+1)*d]); math.Float32bits(ref) != math.Float32bits(got[i]) {
						t.Fatalf("dim %d: out[%d] %v, dot %v", d, i, got[i], ref)
					}
				}
			}
		}
	}
}

// TestDots8MatchesGo: the 8-bit kernel (assembly on amd64) gives the bits
// of its Go definition, and the integer sums of a plain loop, for every
// row length it takes, extreme values and odd scales included.
func TestDots8MatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, dim := range []int{16, 32, 48, 64, 80, 256} {
		rows := 37
		vecs := make([]int8, rows*dim)
		scales := make([]float32, rows)
		q := make([]int16, dim)
		for round := 0; round < 20; round++ {
			for i := range vecs {
				vecs[i] = int8(r.IntN(255) - 127)
				if round == 0 {
					vecs[i] = -127
				}
			}
			for i := range q {
				q[i] = int16(r.IntN(255) - 127)
				if round == 0 {
					q[i] = -127
				}
			}
			for i := range scales {
				scales[i] = float32(r.Float64() * math.Pow(10, float64(r.IntN(9)-6)))
			}
			scales[0] = 0
			idx := make([]int32, 1+r.IntN(60))
			for i := range idx {
				idx[i] = int32(r.IntN(rows))
			}
			got, want := make([]float32, len(idx)), make([]float32, len(idx))
			dots8(q, vecs, scales, idx, got)
			dots8Go(q, vecs, scales, idx, want)
			for i, s := range idx {
				var plain int64
				for j := 0; j < dim; j++ {
					plain += int64(q[j]) * int64(vecs[int(s)*dim+j])
				}
				ref := float32(float64(plain)) * scales[s]
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || got[i] != ref {
					t.Fatalf("dim %d row %d: kernel %v, Go %v, plain %v (sum %d)", dim, s, got[i], want[i], ref, plain)
				}
			}
		}
	}
}

// TestQuantise: the 8-bit copy stays within half a step of the vector,
// uses the whole range, and a zero vector gives zeros.
func TestQuantise(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	v := make([]float32, 64)
	out := make([]int8, 64)
	for round := 0; round < 100; round++ {
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		s := quantise(v, out)
		top := 0
		for i, x := range v {
			if d := math.Abs(float64(x) - float64(out[i])*float64(s)); d > 0.5001*float64(s) {
				t.Fatalf("element %d: %v quantised to %d × %v (off by %v)", i, x, out[i], s, d)
			}
			if out[i] == 127 || out[i] == -127 {
				top++
			}
		}
		if top == 0 {
			t.Fatalf("no element at ±127: the range is not used")
		}
	}
	clear(v)
	if s := quantise(v, out); s != 0 || out[3] != 0 {
		t.Fatalf("zero vector: scale %v, element %d", s, out[3])
	}
}
