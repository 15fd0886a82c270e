package boot

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rayos/engine/world/marker"
)

// Bounds of the marker sinks (docs/recovery.md).
const (
	// StdoutBuffer is how many bytes of marker lines may wait for a slow
	// stdout reader before lines are dropped (about 10,000 markers).
	StdoutBuffer = 1 << 20
	// FlushWait is how long exit waits for stdout and stderr to take what
	// is still buffered: a reader that never reads must not hang exit.
	FlushWait = 2 * time.Second
	// MarkerLogLimit is the size at which logs/markers.log is rotated, and
	// MarkerLogKeep how many rotated files (markers.log.1 … .3) are kept:
	// the marker log never takes more than 4 × 8 MiB.
	MarkerLogLimit = 8 << 20
	MarkerLogKeep  = 3
)

// stdoutSink puts a spool between the marker bus and stdout, so the tick
// never waits for whoever reads stdout, and returns the function that
// flushes it at exit (waiting at most FlushWait). A replay writes stdout
// directly: it has no live world to keep going, and its output is its
// whole purpose, so it waits for its reader rather than drop a line.
func (rt *runtime) stdoutSink(w io.Writer) (io.Writer, func()) {
	if rt.o.Replay || w == nil {
		return w, func() {}
	}
	s := marker.NewSpool(w, StdoutBuffer, marker.GapLine("stdout"))
	s.OnDrop = func() {
		rt.log.Warn("stdout is not being read: dropping markers until it drains (logs/markers.log keeps them all)")
	}
	s.OnGap = func(n uint64) {
		rt.log.Warn("markers dropped from stdout", "count", n, "marker", "RAYOS_AUDIT:markers-dropped:sink=stdout")
	}
	return s, func() {
		if err := s.Close(FlushWait); err != nil {
			rt.log.Warn("stdout not flushed", "err", err, "dropped", s.Dropped())
		}
	}
}

// markerLog is the bus's sink for logs/markers.log. The log is a copy of
// the stream, not the system: a failing write (a full or read-only data
// partition) is reported once on stderr, counted, and never stops the
// run or changes its exit status.
type markerLog struct {
	file   *marker.LogFile
	path   string
	log    *slog.Logger
	failed uint64
}

func (m *markerLog) Write(p []byte) (int, error) {
	if _, err := m.file.Write(p); err != nil {
		if m.failed == 0 {
			m.log.Warn("marker log write failed; markers still go to stdout", "path", m.path, "err", err)
		}
		m.failed++
	}
	return len(p), nil
}

// openMarkerLog adds logs/markers.log to the bus, with the boot's first
// markers. Failing to open it is a warning: recovery must come up on a
// full or read-only data partition, and a normal boot must get as far as
// deciding that it falls back to recovery.
func (rt *runtime) openMarkerLog() {
	path := rt.layout.MarkerLog()
	f, err := marker.OpenLogFile(path, MarkerLogLimit, MarkerLogKeep)
	if err != nil {
		rt.log.Warn("marker log not opened; markers go to stdout only", "path", path, "err", err)
		return
	}
	sink := &markerLog{file: f, path: path, log: rt.log}
	rt.closers = append(rt.closers, func() {
		f.Close()
		if sink.failed > 0 {
			rt.log.Warn("marker lines not written to the marker log", "path", path, "count", sink.failed)
		}
	})
	rt.bus.AddSinkWithHistory(sink) // the sink reports its own failures
}

// NewDiagnostics returns the logger of `rayos boot`: slog's text format
// at level, written to w through a spool like stdout's, so that a stderr
// nobody reads cannot stall the tick either. Dropped lines are reported
// by a line of their own when stderr drains. flush waits at most
// FlushWait.
func NewDiagnostics(w io.Writer, level slog.Leveler) (logger *slog.Logger, flush func()) {
	gap := func(n uint64) []byte {
		return fmt.Appendf(nil, "time=%s level=WARN msg=\"diagnostics dropped: stderr was not read\" sink=stderr count=%d\n",
			time.Now().Format(time.RFC3339Nano), n)
	}
	s := marker.NewSpool(w, StdoutBuffer, gap)
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: level})), func() { s.Close(FlushWait) }
}
