package boot

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/gpu"
	"github.com/rayos/engine/guests"
	"github.com/rayos/engine/world/marker"
)

// Screenshots: the control request "screenshot" is the host's, not the
// world's — it changes nothing in the world, so it is neither fed to the
// world nor journaled, and its answer is not a world marker (a replay,
// which has no such request, gives the same markers). The runtime asks
// the mirror for a copy of the frame at the next collection (where
// results are always read, so the world's determinism is untouched),
// encodes it away from the tick, writes
// RAYOS_DATA/screenshots/tick-<N>.png and answers with
// RAYOS_HOST_ACK:screenshot:ok:<path>. At most KeptScreenshots files are
// kept, the oldest removed.

// KeptScreenshots is how many screenshot files RAYOS_DATA keeps;
// MaxWaitingScreenshots how many requests may wait for one (more are
// refused at once: each costs a frame copy and an encoding).
const (
	KeptScreenshots       = 16
	MaxWaitingScreenshots = 64
)

// isScreenshot says whether a control line asks for a screenshot.
func isScreenshot(line string) bool { return strings.TrimSpace(line) == "screenshot" }

// screenshots are the runtime's screenshot requests waiting for a frame.
type screenshots struct {
	pending []guests.ControlRequest
	// encoding is set while a goroutine encodes and writes a frame: one
	// at a time, so that a client asking in a loop holds at most one frame
	// copy and one encoding, whatever its rate; requests that come
	// meanwhile share the next frame.
	encoding atomic.Bool
}

// requestScreenshot queues a screenshot request and asks the mirror for
// the frame.
func (rt *runtime) requestScreenshot(req guests.ControlRequest) {
	m := ecs.GetResource[gpu.Mirror](rt.w.ECS)
	if m == nil {
		rt.replyScreenshot([]guests.ControlRequest{req}, "", fmt.Errorf("no compositor"))
		return
	}
	if len(rt.shots.pending) >= MaxWaitingScreenshots {
		rt.replyScreenshot([]guests.ControlRequest{req}, "", fmt.Errorf("%d screenshot requests are already waiting", MaxWaitingScreenshots))
		return
	}
	rt.shots.pending = append(rt.shots.pending, req)
	m.RequestFrameCopy()
}

// finishScreenshots answers the waiting requests once the frame copy is
// there; the PNG is encoded and written by a goroutine, so the tick does
// not wait for it.
func (rt *runtime) finishScreenshots() {
	if len(rt.shots.pending) == 0 {
		return
	}
	m := ecs.GetResource[gpu.Mirror](rt.w.ECS)
	if rt.shots.encoding.Load() {
		return // the copy waits in the mirror until the encoder is free
	}
	texels, ok := m.FrameCopy()
	if !ok {
		return
	}
	pending := rt.shots.pending
	rt.shots.pending = nil
	frame, width, height := slices.Clone(texels), m.Config().FrameWidth, m.Config().FrameHeight
	// An absolute path in the ACK: ctl may run from another folder.
	dir, err := filepath.Abs(filepath.Join(rt.layout.Root, "screenshots"))
	if err != nil {
		rt.replyScreenshot(pending, "", err)
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("tick-%d.png", rt.w.Clock.Tick))
	rt.shots.encoding.Store(true)
	go func() {
		defer rt.shots.encoding.Store(false)
		err := os.MkdirAll(dir, 0o750)
		if err == nil {
			err = WriteFileAtomic(path, 0o640, func(out io.Writer) error {
				img := &image.RGBA{Pix: gpu.Bytes(frame), Stride: 4 * width, Rect: image.Rect(0, 0, width, height)}
				return png.Encode(out, img)
			})
		}
		if err == nil {
			pruneScreenshots(dir, KeptScreenshots)
		}
		rt.replyScreenshot(pending, path, err)
	}()
}

func (rt *runtime) replyScreenshot(reqs []guests.ControlRequest, path string, err error) {
	line := marker.HostAck("screenshot", true, path).String()
	if err != nil {
		line = marker.HostAck("screenshot", false, err.Error()).String()
	}
	if rt.control == nil {
		return
	}
	for _, req := range reqs {
		rt.control.Reply(req.ID, line)
	}
}

// pruneScreenshots removes the oldest screenshots beyond keep.
func pruneScreenshots(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type shot struct {
		name string
		tick int
	}
	var shots []shot
	for _, e := range entries {
		var tick int
		if _, err := fmt.Sscanf(e.Name(), "tick-%d.png", &tick); err == nil && e.Type().IsRegular() {
			shots = append(shots, shot{e.Name(), tick})
		}
	}
	sort.Slice(shots, func(i, j int) bool { return shots[i].tick < shots[j].tick })
	for len(shots) > keep {
		os.Remove(filepath.Join(dir, shots[0].name))
		shots = shots[1:]
	}
}
