package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlange-42/ark/ecs"
	"github.com/rayos/engine/components"
	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/volume"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/marker"
)

// VolumeWait bounds how long a boot waits for the Volume to load before
// going on: a larger Volume finishes loading while RayOS runs, and says so
// with its marker then.
const VolumeWait = 2 * time.Second

// Retriever answers "which passages are most like this text?". The staged
// Volume is one; intent resolution asks it through a [Retrieval], never
// on the tick.
type Retriever interface {
	Query(text string, k int) ([]volume.Hit, error)
}

// RetrievalRequest asks for the K passages most like Text; ID is the
// asker's, returned with the answer.
type RetrievalRequest struct {
	ID   uint64
	Text string
	K    int
}

// RetrievalAnswer is a request's answer: the hits, best first, or why
// there are none.
type RetrievalAnswer struct {
	ID   uint64
	Hits []volume.Hit
	Err  error
}

// ErrVolumeNotReady answers a request made before the Volume is loaded
// (or when there is none, or the policy disabled it).
var ErrVolumeNotReady = errors.New("the Volume is not loaded")

// Retrieval answers retrieval requests off the tick: one goroutine reads
// a bounded queue and queries the Retriever it is given (once the Volume
// is loaded), and sends the answers to a bounded channel. The tick loop
// feeds each answer into the world as an input, so a replay finds the
// same answers in its journal and never queries.
type Retrieval struct {
	r       atomic.Pointer[retrieverBox]
	in      chan RetrievalRequest
	out     chan RetrievalAnswer
	done    chan struct{}
	closing sync.Once
	wg      sync.WaitGroup
}

type retrieverBox struct{ Retriever }

// RetrievalQueue is how many requests (and answers) may wait.
const RetrievalQueue = 64

// NewRetrieval starts the goroutine; r may be nil until SetRetriever.
func NewRetrieval(r Retriever) *Retrieval {
	s := &Retrieval{in: make(chan RetrievalRequest, RetrievalQueue), out: make(chan RetrievalAnswer, RetrievalQueue), done: make(chan struct{})}
	if r != nil {
		s.SetRetriever(r)
	}
	s.wg.Add(1)
	go s.serve()
	return s
}

// SetRetriever installs what answers from now on.
func (s *Retrieval) SetRetriever(r Retriever) { s.r.Store(&retrieverBox{r}) }

// Ready reports whether a Retriever is installed.
func (s *Retrieval) Ready() bool { return s.r.Load() != nil }

// Ask queues a request without waiting; false when the queue is full or
// the service closed (the asker answers itself: nothing found).
func (s *Retrieval) Ask(req RetrievalRequest) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.in <- req:
		return true
	default:
		return false
	}
}

// Answers delivers the answers, in the order asked.
func (s *Retrieval) Answers() <-chan RetrievalAnswer { return s.out }

// Close stops the goroutine; requests still queued are dropped.
func (s *Retrieval) Close() {
	s.closing.Do(func() { close(s.done) })
	s.wg.Wait()
}

func (s *Retrieval) serve() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case req := <-s.in:
			a := RetrievalAnswer{ID: req.ID, Err: ErrVolumeNotReady}
			if box := s.r.Load(); box != nil {
				a.Hits, a.Err = box.Query(req.Text, req.K)
			}
			select {
			case s.out <- a:
			case <-s.done:
				return
			}
		}
	}
}

// stagedVolume is the loaded Volume as a Retriever: the index answers
// (exact below its threshold).
type stagedVolume struct{ v *volume.Volume }

func (s stagedVolume) Query(text string, k int) ([]volume.Hit, error) {
	return s.v.Query(text, k, false)
}

// volumeStage is what boot staged of the Volume. retrieval is where the
// intent system's requests go (nil in a replay, whose answers come from
// the journal).
type volumeStage struct {
	retrieval *Retrieval
	// loading is set while a Volume is being loaded: a recall then is
	// answered "still loading" rather than "no volume".
	loading atomic.Bool
}

// askVolume hands the recalls the intent system resolved this tick to the
// Retrieval (off the tick). A replay asks nothing: the journal holds the
// answers. Without a Volume to ask, or with the queue full, the answer is
// fed at once, so the recall never waits for its deadline for nothing.
func (rt *runtime) askVolume() {
	r := ecs.GetResource[intent.Retrievals](rt.w.ECS)
	if r == nil || len(r.Asks) == 0 {
		return
	}
	asks := r.Asks
	r.Asks = r.Asks[:0]
	if rt.o.Replay {
		return
	}
	for _, a := range asks {
		ret := rt.volume.retrieval
		switch {
		case ret == nil || !ret.Ready() && !rt.volume.loading.Load():
			feedRetrieval(rt.w, RetrievalAnswer{ID: a.Source, Err: errNoVolume})
		case !ret.Ready():
			feedRetrieval(rt.w, RetrievalAnswer{ID: a.Source, Err: errVolumeLoading})
		case !ret.Ask(RetrievalRequest{ID: a.Source, Text: a.Text, K: a.K}):
			feedRetrieval(rt.w, RetrievalAnswer{ID: a.Source, Err: errVolumeBusy})
		}
	}
}

var (
	errNoVolume      = errors.New("no volume (rayos volume add FILE|DIR fills one; boot stages it)")
	errVolumeLoading = errors.New("the Volume is still loading")
	errVolumeBusy    = errors.New("busy: too many queries wait for the Volume")
)

// feedRetrieval feeds a Volume's answer into the world as the input the
// recall that asked waits for (Device = its Seq), and so into the journal.
func feedRetrieval(w *world.World, a RetrievalAnswer) {
	text := intent.AnswerError(fmt.Sprint(a.Err))
	if a.Err == nil {
		ps := make([]intent.Passage, 0, len(a.Hits))
		for _, h := range a.Hits {
			ps = append(ps, intent.Passage{Score: h.Score, File: h.Meta["file"], Heading: h.Meta["heading"], Text: h.Text, Guest: h.Meta["guest"]})
		}
		text = intent.EncodeAnswer(ps)
	}
	w.Inbox.Feed(w.Clock, components.Input{Kind: components.InputRetrieval, Device: uint32(a.ID), Text: text})
}

// stageVolume loads the Volume at dir (BootInfo's volume, default
// RAYOS_DATA/volume) when the policy enables it, off the boot's own
// goroutine, waiting at most VolumeWait; it always installs the
// Retrieval, which answers ErrVolumeNotReady until the Volume is in.
// Markers (docs/markers.md): none when dir holds no Volume;
// RAYOS_BOOT:volume:disabled when the policy turns it off;
// …:recovered file=<damaged> using=prev before the items line when the
// last good copy was loaded; …:items=N index=I dim=D load_ms=T once
// loaded; …:loading waited_ms=T when it takes longer than VolumeWait
// (the items line follows when done); …:error <why> when neither the
// file nor its copy can be read (the boot goes on without).
func (rt *runtime) stageVolume(dir string) {
	rt.volume.retrieval = NewRetrieval(nil)
	rt.closers = append(rt.closers, rt.volume.retrieval.Close)
	file := filepath.Join(dir, volume.FileName)
	if !exists(file) && !exists(file+volume.PrevSuffix) {
		rt.log.Info("no Volume to stage", "dir", dir)
		return
	}
	if !rt.policy.VolumeEnabled() {
		rt.bus.Emit(marker.Boot("volume", "disabled"))
		return
	}
	scanner := rt.exactScanner()
	start := time.Now()
	rt.volume.loading.Store(true)
	var mu sync.Mutex
	var staged *volume.Volume
	closed := false
	// At exit the Volume is closed, or, still loading, closed by the
	// loader when it finishes: the exit waits for nothing.
	rt.closers = append(rt.closers, func() {
		mu.Lock()
		defer mu.Unlock()
		closed = true
		if staged != nil {
			staged.Close()
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer rt.volume.loading.Store(false)
		v, err := volume.Open(dir, volume.Options{Exact: scanner})
		var rec *volume.RecoveryError
		switch {
		case errors.As(err, &rec):
			rt.bus.Emit(marker.Boot("volume", fmt.Sprintf("recovered file=%s using=prev", rt.relData(rec.Path))))
			rt.log.Warn("Volume file damaged; serving the last good copy (rayos volume rebuild keeps it)", "err", rec)
		case err != nil:
			rt.bus.Emit(marker.Boot("volume", "error "+oneLine(err.Error())))
			rt.log.Error("Volume not staged", "dir", dir, "err", err)
			return
		}
		st := v.Stats()
		mu.Lock()
		defer mu.Unlock()
		if closed {
			v.Close()
			return
		}
		staged = v
		rt.volume.retrieval.SetRetriever(stagedVolume{v})
		rt.bus.Emit(marker.Boot("volume", fmt.Sprintf("items=%d index=%s dim=%d load_ms=%d", st.Items, st.Index, st.Dim, time.Since(start).Milliseconds())))
	}()
	wait := time.NewTimer(VolumeWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
		rt.bus.Emit(marker.Boot("volume", fmt.Sprintf("loading waited_ms=%d", VolumeWait.Milliseconds())))
	}
}

// volumeDir is where the Volume lives: BootInfo's volume, else
// RAYOS_DATA/volume.
func volumeDir(bi BootInfo) string {
	if bi.Volume != "" {
		return bi.Volume
	}
	return filepath.Join(bi.Data, "volume")
}

// relData names path relative to RAYOS_DATA when it lies inside it.
func (rt *runtime) relData(path string) string {
	if rel, err := filepath.Rel(rt.layout.Root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// oneLine keeps a marker on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
