package evdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// RecordSize is the size of one struct input_event on a 64-bit Linux: a
// 16-byte timeval, u16 type, u16 code, s32 value.
const RecordSize = 24

// Event types and codes of linux/input-event-codes.h that RayOS reads.
const (
	EvSyn = 0x00
	EvKey = 0x01
	EvRel = 0x02
	EvAbs = 0x03

	SynReport  = 0
	SynDropped = 3

	RelX = 0x00
	RelY = 0x01
	AbsX = 0x00
	AbsY = 0x01

	// KeyPower is the power button (the ACPI "Power Button" device sends
	// it, and so do some keyboards).
	KeyPower = 116
	// BtnMisc … BtnLast is the block of button codes below KEY_OK; the
	// trigger-happy block is BtnTriggerHappy … KeyMax. Codes there are
	// buttons, not keys.
	BtnMisc         = 0x100
	BtnLeft         = 0x110
	BtnRight        = 0x111
	BtnMiddle       = 0x112
	BtnLast         = 0x15f
	BtnTriggerHappy = 0x2c0
	// KeyMax is the highest key code (KEY_MAX).
	KeyMax = 0x2ff
)

// Event is one decoded struct input_event.
type Event struct {
	// Sec and Usec are the kernel's timestamp; RayOS stamps inputs with
	// the simulation clock instead, so these are only for diagnostics.
	Sec, Usec int64
	Type      uint16
	Code      uint16
	Value     int32
}

func (e Event) String() string {
	return fmt.Sprintf("type=%d code=%d value=%d", e.Type, e.Code, e.Value)
}

// Encode appends e as the kernel writes it (tests and tools build
// streams with it).
func (e Event) Encode(b []byte) []byte {
	b = binary.NativeEndian.AppendUint64(b, uint64(e.Sec))
	b = binary.NativeEndian.AppendUint64(b, uint64(e.Usec))
	b = binary.NativeEndian.AppendUint16(b, e.Type)
	b = binary.NativeEndian.AppendUint16(b, e.Code)
	return binary.NativeEndian.AppendUint32(b, uint32(e.Value))
}

// ErrTruncated is returned when a stream ends inside a record.
var ErrTruncated = errors.New("evdev: stream ends inside an input_event record")

// Decoder reads Events from a stream. A record may arrive split across
// reads (a pipe); a device always returns whole records.
type Decoder struct {
	r          io.Reader
	buf        []byte
	start, end int
}

// NewDecoder reads from r with a buffer of 64 records, so that one read
// of a device takes a burst of packets at once.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, 64*RecordSize)}
}

// Next returns the next event. At the end of the stream it returns
// io.EOF, or an error wrapping ErrTruncated when part of a record was
// read; read errors are returned as they are.
func (d *Decoder) Next() (Event, error) {
	for d.end-d.start < RecordSize {
		if d.start > 0 {
			d.end = copy(d.buf, d.buf[d.start:d.end])
			d.start = 0
		}
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			return Event{}, fmt.Errorf("evdev: reader returned %d bytes for a %d-byte buffer", n, len(d.buf)-d.end)
		}
		d.end += n
		if d.end-d.start >= RecordSize {
			break // a whole record: an error comes back with the next call
		}
		if err != nil {
			if errors.Is(err, io.EOF) && d.end > d.start {
				return Event{}, fmt.Errorf("%w (%d of %d bytes)", ErrTruncated, d.end-d.start, RecordSize)
			}
			return Event{}, err
		}
	}
	b := d.buf[d.start : d.start+RecordSize]
	d.start += RecordSize
	return Event{
		Sec:   int64(binary.NativeEndian.Uint64(b[0:])),
		Usec:  int64(binary.NativeEndian.Uint64(b[8:])),
		Type:  binary.NativeEndian.Uint16(b[16:]),
		Code:  binary.NativeEndian.Uint16(b[18:]),
		Value: int32(binary.NativeEndian.Uint32(b[20:])),
	}, nil
}
