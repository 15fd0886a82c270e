package lines

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Each reads r to its end and calls fn with each line, without its
// newline: end is true for a line's last piece, whole for a line that
// came in one piece. A line longer than max comes in several pieces. The
// slice is only valid during the call. The last line ends at the end of
// the stream whether or not it had a newline.
func Each(r io.Reader, max int, fn func(line []byte, end, whole bool)) {
	br := bufio.NewReaderSize(r, max)
	long := false
	for {
		b, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			fn(b, false, false)
			long = true
			continue
		case len(b) > 0:
			fn(bytes.TrimSuffix(b, []byte{'\n'}), true, !long)
		}
		long = false
		if err != nil {
			return
		}
	}
}
