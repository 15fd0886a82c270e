package guests

import (
	"fmt"
	"io"
	"strings"

	"github.com/rayos/engine/world/marker"
)

// DefaultWatchQueue is how many marker lines may wait for one watcher
// (queued, not yet written to its socket) before RayOS cuts it off. A
// watcher is cut rather than skipped over: a script that waits on the
// stream would otherwise miss the very line it waits for without knowing.
const DefaultWatchQueue = 1024

// WatchKinds are the marker prefixes a watch request may name.
func WatchKinds() []string {
	var out []string
	for k := marker.KindBoot; !strings.HasPrefix(k.Prefix(), "RAYOS_UNKNOWN"); k++ {
		out = append(out, k.Prefix())
	}
	return out
}

// parseWatch reads "watch [PREFIX…]": every prefix must begin with a
// marker kind (RAYOS_GUEST, or narrower: RAYOS_GUEST:linux).
func parseWatch(line string) (prefixes []string, err error) {
	words := strings.Fields(line)[1:]
	kinds := WatchKinds()
	for _, w := range words {
		known := false
		for _, k := range kinds {
			if w == k || strings.HasPrefix(w, k+":") {
				known = true
				break
			}
		}
		if !known {
			return nil, fmt.Errorf("unknown marker kind %q (want one of %s, optionally followed by :FIELD…)", w, strings.Join(kinds, ", "))
		}
	}
	return words, nil
}

// watchAck is the answer to an accepted watch request; the stream follows.
func watchAck(prefixes []string) string {
	what := "all markers"
	if len(prefixes) > 0 {
		what = strings.Join(prefixes, " ")
	}
	return marker.HostAck("watch", true, "streaming "+what).String()
}

// MarkerSink is the writer that feeds the watchers: add it to the marker
// bus and every line emitted from then on goes to each watcher whose
// prefixes it matches. Its Write never blocks and never fails: it only
// queues, and a watcher whose queue is full is cut off.
func (s *ControlServer) MarkerSink() io.Writer { return &watchSink{s: s} }

type watchSink struct {
	s    *ControlServer
	each []*controlClient // reused; the bus calls Write from one emitter at a time
}

func (w *watchSink) Write(p []byte) (int, error) {
	s := w.s
	if s.watchers.Load() == 0 {
		return len(p), nil
	}
	line := strings.TrimSuffix(string(p), "\n")
	s.mu.Lock()
	w.each = w.each[:0]
	for c := range s.clients {
		if c.watching.Load() {
			w.each = append(w.each, c)
		}
	}
	s.mu.Unlock()
	for _, c := range w.each {
		c.publish(line)
	}
	clear(w.each)
	return len(p), nil
}

// startWatching turns the client into a watcher: from now on marker lines
// matching prefixes are queued for it, written after the answers to the
// requests it sent before.
func (c *controlClient) startWatching(prefixes []string) {
	c.mu.Lock()
	c.prefixes = prefixes
	c.mu.Unlock()
	// Under the server's lock, as forget: a client that is already gone
	// is not counted.
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.clients[c] && !c.watching.Swap(true) {
		c.s.watchers.Add(1)
	}
}

// publish queues a marker line for a watcher, or cuts the watcher off
// when DefaultWatchQueue lines already wait for it.
func (c *controlClient) publish(line string) {
	c.mu.Lock()
	if c.gone || c.stopping {
		c.mu.Unlock()
		return
	}
	// Every watcher gets the shutdown line, whatever it filters: it tells
	// the end of a stream at shutdown from a watcher cut off.
	if len(c.prefixes) > 0 && !hasAnyPrefix(line, c.prefixes) && !strings.HasPrefix(line, "RAYOS_BOOT:shutdown:") {
		c.mu.Unlock()
		return
	}
	if len(c.stream) >= c.s.o.WatchQueue {
		c.mu.Unlock()
		c.drop(fmt.Sprintf("watcher fell behind: more than %d marker lines queued", c.s.o.WatchQueue))
		return
	}
	c.stream = append(c.stream, line)
	c.cond.Broadcast()
	c.mu.Unlock()
}

func hasAnyPrefix(line string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// discard reads a watcher's socket after its watch request: nothing more
// it sends is a request. Its end (EOF or an error) ends the watch.
func (c *controlClient) discard(r io.Reader) {
	_, err := io.Copy(io.Discard, r)
	c.mu.Lock()
	stopping := c.stopping
	c.mu.Unlock()
	if !stopping && c.end() {
		c.s.o.Log.Debug("control watcher gone", "client", c.number, "err", err)
	}
}

// Watchers is how many clients stream markers now.
func (s *ControlServer) Watchers() int { return int(s.watchers.Load()) }
