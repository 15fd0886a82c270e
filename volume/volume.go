package volume

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Item is one stored passage. ID is assigned by Add (any ID given is
// ignored). Meta carries where the text came from; the ingestion uses the
// keys "file", "offset" and "heading". Vector may be left nil, and Add
// embeds Text with the Volume's embedder; a given Vector must have the
// Volume's dimension and is stored normalised to unit length.
type Item struct {
	ID     uint64
	Text   string
	Meta   map[string]string
	Vector []float32
}

// Hit is one answer to a query: copies of the item's ID, text and
// metadata (the caller may keep or change them; the Volume does not share
// its own), and Score, the cosine similarity to the query in [-1, 1].
type Hit struct {
	ID    uint64
	Text  string
	Meta  map[string]string
	Score float32
}

// Options tune a Volume. Zero values take the defaults below.
type Options struct {
	// Embedder embeds texts given to Add and Query. Nil: the embedder
	// recorded in the file (when it is a built-in one), else
	// HashEmbedder(DefaultDim).
	Embedder Embedder
	// M is the HNSW's links per node on the upper layers (2M on the
	// bottom one); EfConstruction the candidate list while inserting;
	// EfSearch the candidate list while querying (at least k).
	M, EfConstruction, EfSearch int
	// Seed draws the nodes' layers: the same items in the same order with
	// the same seed build the same graph.
	Seed int64
	// ExactBelow: with fewer live items than this, every query is an
	// exact scan and no graph is kept. Negative: always use the graph.
	ExactBelow int
	// Exact, when set, runs exact scans (a GPU's search kernel); nil
	// scans on this process's cores.
	Exact ExactScanner
}

// Defaults, chosen from the recall and latency measurements in
// docs/volume.md.
const (
	DefaultM              = 24
	DefaultEfConstruction = 200
	DefaultEfSearch       = 300
	DefaultExactBelow     = 5000
	DefaultSeed           = 1
)

// FileName is the Volume's file inside its folder; PrevSuffix marks the
// last good copy kept beside it.
const (
	FileName   = "volume.rvol"
	PrevSuffix = ".prev"
)

// Limits that bound what a Volume (and so its file) may hold.
const (
	maxDim     = 1 << 14
	maxText    = 1 << 24
	maxMeta    = 1 << 10
	maxMetaStr = 1<<16 - 1
)

func (o Options) withDefaults() Options {
	if o.M == 0 {
		o.M = DefaultM
	}
	if o.EfConstruction == 0 {
		o.EfConstruction = DefaultEfConstruction
	}
	if o.EfSearch == 0 {
		o.EfSearch = DefaultEfSearch
	}
	if o.ExactBelow == 0 {
		o.ExactBelow = DefaultExactBelow
	}
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	return o
}

func (o Options) check() error {
	switch {
	case o.M < 2 || o.M > 127:
		return fmt.Errorf("volume: Options.M %d: want 2..127", o.M)
	case o.EfConstruction < 1 || o.EfConstruction > 1<<16:
		return fmt.Errorf("volume: Options.EfConstruction %d: want 1..65536", o.EfConstruction)
	case o.EfSearch < 1 || o.EfSearch > 1<<16:
		return fmt.Errorf("volume: Options.EfSearch %d: want 1..65536", o.EfSearch)
	}
	if o.Embedder != nil {
		if d := o.Embedder.Dim(); d < 1 || d > maxDim {
			return fmt.Errorf("volume: Options.Embedder %q: dimension %d, want 1..%d", o.Embedder.Name(), d, maxDim)
		}
	}
	return nil
}

// Volume is a store of items with exact and approximate search. All
// methods are safe for concurrent use: queries share a read lock and run
// in parallel; Add, Remove, Rebuild hold the write lock (embedding happens
// before it is taken).
type Volume struct {
	mu     sync.RWMutex
	saveMu sync.Mutex // one Save at a time; guards diskGood
	dir    string
	opt    Options
	emb    Embedder
	dim    int

	// Items live in slots; a removed item's slot stays (dead) until the
	// next compaction, because the graph still routes through it.
	items  []Item // Vector nil: the vector lives in vecs
	vecs   []float32
	dead   []bool
	ndead  int
	slotOf map[uint64]int32
	nextID uint64

	graph *graph // nil below ExactBelow

	// gen counts changes to the slots (adds, removes, compactions): the
	// exact scanner reloads when it last loaded another generation.
	gen     uint64
	scanner scannerState

	lastSave time.Time
	fileSize int64
	// diskGood: volume.rvol on disk is the file this Volume last loaded or
	// saved, known good, so Save may keep it as the .prev copy.
	diskGood bool
	closed   bool
}

// ErrClosed is returned by every method of a closed Volume.
var ErrClosed = errors.New("volume: closed")

// RecoveryError reports that Open found volume.rvol damaged (Err says how,
// naming the file) and loaded the last good copy From instead. Open
// returns it together with a working Volume: the caller announces the
// recovery (boot emits a marker) and carries on. The damaged file is left
// in place until the next Save, which renames it to volume.rvol.corrupt
// for inspection and never uses it as the .prev copy.
type RecoveryError struct {
	Path string // the damaged file
	From string // the copy that was loaded
	Err  error
}

func (e *RecoveryError) Error() string {
	return fmt.Sprintf("%v; loaded the last good copy %s instead", e.Err, e.From)
}

func (e *RecoveryError) Unwrap() error { return e.Err }

// Open loads the Volume kept in dir (dir/volume.rvol), or starts an empty
// one when there is none; the folder is created by Save. When volume.rvol
// is corrupt or truncated and dir/volume.rvol.prev is good, Open returns
// the Volume loaded from the copy and a *RecoveryError; when neither can
// be read it returns an error naming both and no Volume.
func Open(dir string, o Options) (*Volume, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	v := &Volume{dir: dir, opt: o, slotOf: map[uint64]int32{}, nextID: 1}
	path := filepath.Join(dir, FileName)
	f, err := readFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// A crash between Save's two renames cannot leave .prev without
		// volume.rvol, but a person might: serve the copy rather than an
		// empty Volume.
		prev, perr := readFile(path + PrevSuffix)
		if perr == nil {
			if err := v.adopt(prev); err != nil {
				return nil, err
			}
			return v, &RecoveryError{Path: path, From: path + PrevSuffix, Err: fmt.Errorf("%s: missing", path)}
		}
		if !errors.Is(perr, os.ErrNotExist) {
			return nil, perr
		}
		if err := v.setEmbedder(""); err != nil {
			return nil, err
		}
		return v, nil
	case err != nil:
		prev, perr := readFile(path + PrevSuffix)
		if perr != nil {
			return nil, fmt.Errorf("%w; and the last good copy: %v", err, perr)
		}
		if aerr := v.adopt(prev); aerr != nil {
			return nil, fmt.Errorf("%w; and the last good copy: %v", err, aerr)
		}
		return v, &RecoveryError{Path: path, From: path + PrevSuffix, Err: err}
	}
	if err := v.adopt(f); err != nil {
		return nil, err
	}
	v.diskGood = true
	return v, nil
}

// setEmbedder picks the embedder: the Options' one, else the one the file
// names, else the default. recorded is "" for a new Volume.
func (v *Volume) setEmbedder(recorded string) error {
	e := v.opt.Embedder
	if e == nil && recorded != "" {
		var ok bool
		if e, ok = embedderByName(recorded); !ok {
			return fmt.Errorf("volume: %s was built with embedder %q, which is not built in: pass it in Options.Embedder",
				filepath.Join(v.dir, FileName), recorded)
		}
	}
	if e == nil {
		e = HashEmbedder(DefaultDim)
	}
	if recorded != "" && e.Name() != recorded {
		return fmt.Errorf("volume: %s was built with embedder %q, not %q: rebuild it with the new embedder or open it with the old",
			filepath.Join(v.dir, FileName), recorded, e.Name())
	}
	v.emb, v.dim = e, e.Dim()
	return nil
}

// adopt installs a decoded file.
func (v *Volume) adopt(f *fileData) error {
	if err := v.setEmbedder(f.embedder); err != nil {
		return err
	}
	if f.dim != v.dim {
		return fmt.Errorf("volume: %s: dimension %d, embedder %q has %d", f.path, f.dim, v.emb.Name(), v.dim)
	}
	v.items, v.vecs, v.dead, v.nextID = f.items, f.vecs, f.dead, f.nextID
	v.ndead = 0
	clear(v.slotOf)
	for s := range v.items {
		if v.dead[s] {
			v.ndead++
			continue
		}
		v.slotOf[v.items[s].ID] = int32(s)
	}
	v.graph = f.graph
	if v.graph != nil {
		v.graph.attach(&v.vecs, &v.dead, v.dim)
	}
	v.fileSize = f.size
	v.lastSave = f.modTime
	// A file saved below the graph's threshold has none; one whose
	// threshold changed gets (or loses) it now.
	v.fitGraph()
	return nil
}

func (v *Volume) live() int { return len(v.items) - v.ndead }

// useGraph: is the Volume large enough for the approximate index?
func (v *Volume) useGraph() bool { return v.opt.ExactBelow < 0 || v.live() >= v.opt.ExactBelow }

// fitGraph builds the graph when the Volume has grown past ExactBelow, or
// drops it when it has shrunk below.
func (v *Volume) fitGraph() {
	if !v.useGraph() {
		v.graph = nil
		return
	}
	if v.graph == nil {
		v.buildGraph()
	}
}

// buildGraph builds the graph over every slot, in slot order (dead slots
// included but tombstoned, so the graph's node numbers stay slot numbers).
func (v *Volume) buildGraph() {
	g := newGraph(v.opt.M, v.opt.EfConstruction, v.opt.Seed)
	g.attach(&v.vecs, &v.dead, v.dim)
	for s := range v.items {
		g.insert(int32(s), v.items[s].ID)
	}
	v.graph = g
}

// Add stores items and returns their new IDs in order. Items without a
// Vector are embedded first (outside the lock, so queries carry on). Bad
// input — an item with neither text nor vector, a vector of the wrong
// length, a zero or non-finite vector, oversized text or metadata — is an
// error naming the item's index, and nothing is added.
func (v *Volume) Add(items []Item) ([]uint64, error) {
	v.mu.RLock()
	closed, emb, dim := v.closed, v.emb, v.dim
	v.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	vecs := make([]float32, len(items)*dim)
	stored := make([]Item, len(items))
	for i, it := range items {
		if err := checkItem(it); err != nil {
			return nil, fmt.Errorf("volume: item %d: %w", i, err)
		}
		vec := vecs[i*dim : (i+1)*dim]
		if it.Vector == nil {
			if it.Text == "" {
				return nil, fmt.Errorf("volume: item %d: no text and no vector", i)
			}
			emb.Embed(it.Text, vec)
		} else {
			if len(it.Vector) != dim {
				return nil, fmt.Errorf("volume: item %d: vector has %d dimensions, the Volume %d", i, len(it.Vector), dim)
			}
			copy(vec, it.Vector)
		}
		if err := normaliseChecked(vec); err != nil {
			return nil, fmt.Errorf("volume: item %d (%.40q): %w", i, it.Text, err)
		}
		stored[i] = Item{Text: it.Text, Meta: copyMeta(it.Meta)}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	ids := make([]uint64, len(items))
	for i := range stored {
		id := v.nextID
		v.nextID++
		stored[i].ID = id
		ids[i] = id
		s := int32(len(v.items))
		v.items = append(v.items, stored[i])
		v.vecs = append(v.vecs, vecs[i*dim:(i+1)*dim]...)
		v.dead = append(v.dead, false)
		v.slotOf[id] = s
		if v.graph != nil {
			v.graph.insert(s, id)
		}
	}
	v.gen++
	v.fitGraph()
	return ids, nil
}

func checkItem(it Item) error {
	if len(it.Text) > maxText {
		return fmt.Errorf("text of %d bytes, the limit is %d", len(it.Text), maxText)
	}
	if len(it.Meta) > maxMeta {
		return fmt.Errorf("%d metadata keys, the limit is %d", len(it.Meta), maxMeta)
	}
	for k, val := range it.Meta {
		if len(k) > maxMetaStr || len(val) > maxMetaStr {
			return fmt.Errorf("metadata %.40q: key or value over %d bytes", k, maxMetaStr)
		}
	}
	return nil
}

// normaliseChecked normalises vec in place, refusing vectors that have no
// direction (all zeros: an empty text) or hold NaN or infinities.
func normaliseChecked(vec []float32) error {
	for _, x := range vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return errors.New("vector holds NaN or Inf")
		}
	}
	n := normalise(vec)
	if n == 0 || math.IsInf(n, 0) {
		return errors.New("vector is zero (nothing to embed)")
	}
	return nil
}

func copyMeta(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, val := range m {
		c[k] = val
	}
	return c
}

// compactAbove: when more than this share of the slots are dead, Remove
// compacts them away and rebuilds the graph (mark-and-rebuild).
const compactAbove = 0.25

// Remove deletes the items with these IDs and returns how many it found
// (unknown IDs are skipped, not an error). A removed item is tombstoned:
// it disappears from every answer at once, and the graph keeps routing
// through it, so recall does not suffer. When tombstones pass a quarter of
// the slots, Remove compacts them and rebuilds the graph.
func (v *Volume) Remove(ids []uint64) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, ErrClosed
	}
	n := 0
	for _, id := range ids {
		s, ok := v.slotOf[id]
		if !ok {
			continue
		}
		delete(v.slotOf, id)
		v.dead[s] = true
		v.ndead++
		v.items[s] = Item{ID: id}
		n++
	}
	v.gen++
	if float64(v.ndead) > compactAbove*float64(len(v.items)) {
		v.compact()
	} else {
		v.fitGraph()
	}
	return n, nil
}

// compact drops dead slots and rebuilds the graph over the live ones.
func (v *Volume) compact() {
	v.gen++
	w := 0
	for s := range v.items {
		if v.dead[s] {
			continue
		}
		v.items[w] = v.items[s]
		copy(v.vecs[w*v.dim:(w+1)*v.dim], v.vecs[s*v.dim:(s+1)*v.dim])
		v.slotOf[v.items[w].ID] = int32(w)
		w++
	}
	clear(v.items[w:])
	v.items = v.items[:w]
	v.vecs = v.vecs[:w*v.dim]
	v.dead = v.dead[:w]
	clear(v.dead)
	v.ndead = 0
	v.graph = nil
	v.fitGraph()
}

// Rebuild compacts removed items away and rebuilds the graph from the
// items, in ID order, with the Options' parameters and seed: the same
// items and seed give the same graph, whatever their history.
func (v *Volume) Rebuild() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	// Slots are already in ID order: IDs only grow and compaction keeps
	// the order.
	v.compact()
	return nil
}

// Query embeds text and returns the k items most similar to it, best
// first. exact forces the scan over every item; otherwise the graph
// answers when the Volume has one.
func (v *Volume) Query(text string, k int, exact bool) ([]Hit, error) {
	v.mu.RLock()
	emb, closed := v.emb, v.closed
	v.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	q := make([]float32, emb.Dim())
	emb.Embed(text, q)
	if err := normaliseChecked(q); err != nil {
		return nil, fmt.Errorf("volume: query %.40q: %w", text, err)
	}
	return v.query(q, k, exact)
}

// QueryVector is Query for a vector of the Volume's dimension (it need
// not be normalised).
func (v *Volume) QueryVector(vec []float32, k int, exact bool) ([]Hit, error) {
	v.mu.RLock()
	dim := v.dim
	v.mu.RUnlock()
	if len(vec) != dim {
		return nil, fmt.Errorf("volume: query vector has %d dimensions, the Volume %d", len(vec), dim)
	}
	q := append([]float32(nil), vec...)
	if err := normaliseChecked(q); err != nil {
		return nil, fmt.Errorf("volume: query vector: %w", err)
	}
	return v.query(q, k, exact)
}

// maxK bounds k: a larger k is no longer a search.
const maxK = 1 << 16

func (v *Volume) query(q []float32, k int, exact bool) ([]Hit, error) {
	if k < 1 || k > maxK {
		return nil, fmt.Errorf("volume: k %d: want 1..%d", k, maxK)
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.closed {
		return nil, ErrClosed
	}
	var found []scored
	if exact || v.graph == nil {
		var scanned bool
		var err error
		if found, scanned, err = v.scan(q, k); err != nil {
			return nil, err
		}
		if !scanned {
			found = exactSearch(v.vecs, v.dim, v.dead, q, k)
		}
	} else {
		found = v.graph.search(q, k, max(k, v.opt.EfSearch))
	}
	hits := make([]Hit, len(found))
	for i, f := range found {
		it := &v.items[f.slot]
		hits[i] = Hit{ID: it.ID, Text: it.Text, Meta: copyMeta(it.Meta), Score: f.sim}
	}
	return hits, nil
}

// Stats describes a Volume.
type Stats struct {
	Items      int    // live items
	Removed    int    // tombstoned items not yet compacted
	Dim        int    // vector dimension
	Embedder   string // the embedder's Name
	Index      string // "exact" (no graph) or "hnsw"
	Layers     int    // the graph's layers (0 without a graph)
	Edges      int    // the graph's directed links, all layers
	M          int
	EfSearch   int
	Bytes      int64     // memory held by vectors, texts and the graph (estimate)
	FileSize   int64     // volume.rvol's size when last loaded or saved (0: never)
	LastSave   time.Time // when volume.rvol was last written (zero: never)
	Path       string    // volume.rvol
	NextID     uint64
	ExactBelow int
}

// Stats reports the Volume's size and shape.
func (v *Volume) Stats() Stats {
	v.mu.RLock()
	defer v.mu.RUnlock()
	st := Stats{
		Items: v.live(), Removed: v.ndead, Dim: v.dim, Index: "exact",
		M: v.opt.M, EfSearch: v.opt.EfSearch, FileSize: v.fileSize, LastSave: v.lastSave,
		Path: filepath.Join(v.dir, FileName), NextID: v.nextID, ExactBelow: v.opt.ExactBelow,
	}
	if v.emb != nil {
		st.Embedder = v.emb.Name()
	}
	st.Bytes = int64(len(v.vecs))*4 + int64(len(v.items))*int64(40+1)
	for i := range v.items {
		st.Bytes += int64(len(v.items[i].Text))
		for k, val := range v.items[i].Meta {
			st.Bytes += int64(len(k) + len(val) + 32)
		}
	}
	if v.graph != nil {
		st.Index = "hnsw"
		st.Layers = v.graph.maxLevel + 1
		st.Edges = v.graph.edges()
		st.Bytes += v.graph.bytes()
	}
	return st
}

// Close releases the Volume; it does not save. Later calls return
// ErrClosed.
func (v *Volume) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	v.closed = true
	v.items, v.vecs, v.dead, v.graph = nil, nil, nil, nil
	return nil
}
