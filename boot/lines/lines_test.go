package lines

import (
	"io"
	"strings"
	"testing"
)

type piece struct {
	text       string
	end, whole bool
}

func collect(r io.Reader, max int) []piece {
	var out []piece
	Each(r, max, func(line []byte, end, whole bool) { out = append(out, piece{string(line), end, whole}) })
	return out
}

func TestEach(t *testing.T) {
	got := collect(strings.NewReader("ab\n\nabcdefghij\nxyz"), 16)
	want := []piece{{"ab", true, true}, {"", true, true}, {"abcdefghij", true, true}, {"xyz", true, true}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestEachLongLine: a line longer than the buffer comes in pieces, the
// last marked end and none whole; reading goes on after it.
func TestEachLongLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	got := collect(strings.NewReader(long+"\nafter\n"), 16)
	var text strings.Builder
	i := 0
	for ; i < len(got) && !got[i].end; i++ {
		if got[i].whole {
			t.Errorf("piece %d of a long line marked whole", i)
		}
		text.WriteString(got[i].text)
	}
	if i == len(got) || got[i].whole {
		t.Fatalf("the long line's last piece: %+v", got)
	}
	text.WriteString(got[i].text)
	if text.String() != long {
		t.Errorf("pieces join to %d bytes, want %d", text.Len(), len(long))
	}
	if rest := got[i+1:]; len(rest) != 1 || rest[0] != (piece{"after", true, true}) {
		t.Errorf("after the long line: %+v", rest)
	}
}
