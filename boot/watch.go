package boot

import (
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/rayos/engine/world/atomicfile"
)

// fileIdentity is what tells one version of a file from the next:
// modification time, size and inode (so a replacement by rename is seen).
type fileIdentity struct {
	mod  time.Time
	size int64
	ino  uint64
	ok   bool
}

func identify(path string) fileIdentity {
	info, err := os.Stat(path)
	if err != nil {
		return fileIdentity{}
	}
	id := fileIdentity{mod: info.ModTime(), size: info.Size(), ok: true}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id
}

func (a fileIdentity) same(b fileIdentity) bool {
	return a.ok == b.ok && a.mod.Equal(b.mod) && a.size == b.size && a.ino == b.ino
}

// watchFile polls path every interval and sends its content whenever it
// differs from seen, the identity of the version already in use (taken
// when it was read, so a change made in between is not missed). Reading
// happens here, off the tick; the tick only feeds the text in as an input.
// stop ends the watcher.
func watchFile(path string, seen fileIdentity, interval time.Duration) (updates <-chan string, stop func()) {
	out := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			now := identify(path)
			if !now.ok || now.same(seen) {
				continue
			}
			seen = now
			// The same rules as at boot: a FIFO or a device swapped in for
			// the policy must not hang the watcher, nor a huge file fill
			// memory. Such a version is skipped; the next one is read.
			data, err := atomicfile.ReadRegular(path, atomicfile.MaxConfigSize)
			if err != nil {
				slog.Warn("policy file replaced by one that cannot be read; keeping the policy in force", "err", err)
				continue
			}
			select {
			case out <- string(data):
			case <-done:
				return
			}
		}
	}()
	return out, func() { close(done) }
}
