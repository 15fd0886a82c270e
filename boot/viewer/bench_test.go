package viewer_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/boot/viewer"
	"github.com/rayos/engine/components"
)

// reader is a client that reads everything as fast as it comes, counting
// the frame messages: a browser that keeps up.
type reader struct {
	frames, bytes, tiles atomic.Int64
	done                 chan struct{}
}

func readAll(b *testing.B, srv *viewer.Server) *reader {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/ws", nil)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetReadLimit(-1)
	r := &reader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			typ, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				r.frames.Add(1)
				r.bytes.Add(int64(len(data)))
				r.tiles.Add(int64(data[32]) | int64(data[33])<<8 | int64(data[34])<<16)
			}
		}
	}()
	b.Cleanup(func() {
		conn.CloseNow()
		cancel()
		<-r.done
	})
	return r
}

// BenchmarkTickViewer measures the tick of the stress world (256
// windows, 10k gaze rays, 100k churning tasks) without a viewer, and with
// one attached and a client connected that reads everything, in the same
// run: the viewer's hooks are inside the measured time. It reports the
// tick's p50 and p99.
func BenchmarkTickViewer(b *testing.B) {
	for _, withViewer := range []bool{false, true} {
		name := "no-viewer"
		if withViewer {
			name = "viewer"
		}
		b.Run(name, func(b *testing.B) {
			var h *harness
			var tick func()
			if withViewer {
				h = newHarness(b, "stress", viewer.Config{})
				readAll(b, h.srv)
				tick = h.tick
			} else {
				// The world as boot runs it without --viewer.
				h = newWorld(b, "stress")
				tick = func() { h.sched.Tick(h.w) }
			}
			for range 30 {
				tick()
			}
			var ticks []time.Duration
			for b.Loop() {
				start := time.Now()
				tick()
				ticks = append(ticks, time.Since(start))
			}
			slices.Sort(ticks)
			b.ReportMetric(float64(ticks[len(ticks)/2].Nanoseconds()), "p50-ns/tick")
			b.ReportMetric(float64(ticks[len(ticks)*99/100].Nanoseconds()), "p99-ns/tick")
		})
	}
}

// BenchmarkViewerFrames measures the frames a client that keeps up
// receives while windows of the desktop world move every tick: frames
// per second, bytes and tiles per frame. "capped" is the default
// (FrameInterval, 30 frames per second at most), "uncapped" shows what
// the viewer sustains without the cap; "one" moves one window, "all"
// every window (most of the screen recomposed every tick).
func BenchmarkViewerFrames(b *testing.B) {
	for _, c := range []struct {
		name     string
		interval time.Duration
		all      bool
	}{
		{"capped/one", 0, false},
		{"capped/all", 0, true},
		{"uncapped/one", time.Nanosecond, false},
		{"uncapped/all", time.Nanosecond, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := newHarness(b, "desktop", viewer.Config{FrameInterval: c.interval})
			r := readAll(b, h.srv)
			var windows []ecs.Entity
			q := ecs.NewFilter1[components.Surface](h.w.ECS).Query()
			for q.Next() {
				if s := q.Get(); s.Flags&components.SurfaceVisible != 0 && s.Rect.W < 600 {
					windows = append(windows, q.Entity())
				}
			}
			if !c.all {
				windows = windows[:1]
			}
			surfaces := ecs.NewMap1[components.Surface](h.w.ECS)
			// The first frame is the whole frame: measure after it.
			for deadline := time.Now().Add(patience); r.frames.Load() == 0; {
				if time.Now().After(deadline) {
					b.Fatal("no frame")
				}
				h.tick()
			}
			frames0, bytes0, tiles0 := r.frames.Load(), r.bytes.Load(), r.tiles.Load()
			start := time.Now()
			n := 0
			for b.Loop() {
				step := int32(8)
				if n%40 >= 20 {
					step = -8
				}
				for _, e := range windows {
					surfaces.Get(e).Rect.X += step
					h.mirror.Surfaces.Mark(e)
				}
				h.tick()
				n++
			}
			elapsed := time.Since(start)
			frames := r.frames.Load() - frames0
			b.ReportMetric(float64(frames)/elapsed.Seconds(), "frames/s")
			if frames > 0 {
				b.ReportMetric(float64(r.bytes.Load()-bytes0)/float64(frames), "bytes/frame")
				b.ReportMetric(float64(r.tiles.Load()-tiles0)/float64(frames), "tiles/frame")
			}
		})
	}
}
