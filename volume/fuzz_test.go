package volume

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// smallFile encodes a little Volume, with a graph, for seeds.
func smallFile(t testing.TB, graph bool) []byte {
	o := Options{Embedder: HashEmbedder(8), ExactBelow: 1000}
	if graph {
		o.ExactBelow = -1
	}
	v, _ := Open(t.(interface{ TempDir() string }).TempDir(), o)
	items := []Item{{Text: "alpha beta", Meta: map[string]string{"file": "a.md", "heading": "A"}}, {Text: "gamma"}, {Text: "beta gamma delta"}, {Text: "epsilon"}}
	if _, err := v.Add(items); err != nil {
		t.Fatal(err)
	}
	v.Remove([]uint64{2})
	var b bytes.Buffer
	if err := v.encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// reframe rewrites b's trailer (length, CRC32C, end marker) to match its
// body, so the fuzzer's mutations reach the parser behind the checksum.
func reframe(b []byte) []byte {
	if len(b) < trailerLen {
		return b
	}
	out := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(out[len(out)-trailerLen:], uint64(len(out)))
	binary.LittleEndian.PutUint32(out[len(out)-12:], crc32.Checksum(out[:len(out)-12], castagnoli))
	copy(out[len(out)-8:], endMagic)
	return out
}

// FuzzLoad: no input makes the loader panic or accept something it cannot
// write back identically. The seed corpus (testdata/fuzz/FuzzLoad plus
// the seeds below) runs in every `go test`; `go test -fuzz FuzzLoad`
// explores further.
func FuzzLoad(f *testing.F) {
	for _, g := range []bool{false, true} {
		good := smallFile(f, g)
		f.Add(good)
		f.Add(good[:len(good)/2])
		flipped := append([]byte(nil), good...)
		flipped[len(flipped)/3] ^= 0x40
		f.Add(flipped)
	}
	f.Add([]byte(fileMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, reframe(b)} {
			fd, err := decode(in)
			if err != nil {
				continue
			}
			// Accepted: it must load into a Volume and write back the
			// same bytes.
			v := &Volume{slotOf: map[uint64]int32{}, opt: Options{ExactBelow: -1}.withDefaults()}
			if e, ok := embedderByName(fd.embedder); ok && e.Dim() == fd.dim {
				v.opt.Embedder = e
			} else {
				v.opt.Embedder = testEmbedder{fd.embedder, fd.dim}
			}
			graph := fd.graph != nil
			if err := v.adopt(fd); err != nil {
				t.Fatalf("decoded but not adopted: %v", err)
			}
			if !graph {
				continue // adopt built one: the bytes differ by design
			}
			var out bytes.Buffer
			if err := v.encode(&out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), in) {
				t.Fatalf("accepted a file that does not write back the same (%d bytes in, %d out)", len(in), out.Len())
			}
			// And the graph it holds can be searched.
			q := make([]float32, fd.dim)
			q[0] = 1
			v.query(q, 3, false)
		}
	})
}

type testEmbedder struct {
	name string
	dim  int
}

func (e testEmbedder) Name() string                     { return e.name }
func (e testEmbedder) Dim() int                         { return e.dim }
func (e testEmbedder) Embed(text string, out []float32) { clear(out); out[0] = 1 }
