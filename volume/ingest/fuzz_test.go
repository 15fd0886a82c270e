package ingest

import (
	"testing"
	"unicode/utf8"
)

// FuzzSplit holds Split to its rules on any UTF-8 text, any kind and any
// valid size and overlap: every byte covered, no rune split, overlaps as
// documented, and never a panic or an endless loop.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("# A\n\ntext\n## B\nmore\n```\n# no\n```\n"), 64, 10, uint8(0))
	f.Add([]byte("func A() {\n}\n\nfunc B() {}\n"), 64, 0, uint8(1))
	f.Add([]byte("日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語"), 64, 31, uint8(2))
	f.Add([]byte("a\r\nb\r\n\r\n# c\r\n"), 64, 3, uint8(0))
	kinds := []Kind{Markdown, Source, Text}
	f.Fuzz(func(t *testing.T, data []byte, size, overlap int, kind uint8) {
		if !utf8.Valid(data) {
			return
		}
		o := Options{Size: MinSize + abs(size)%512, Overlap: NoOverlap}
		if overlap != 0 {
			o.Overlap = 1 + abs(overlap)%(o.Size/2-1)
		}
		chunks, err := Split("f", data, kinds[int(kind)%3], o)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) == 0 {
			return
		}
		checkCover(t, data, chunks, o)
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the most negative int
			return 0
		}
		return -n
	}
	return n
}
