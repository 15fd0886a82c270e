package boot

import (
	"bytes"
	"sync"
)

// LockedBuffer is a bytes.Buffer the runtime's writers (markers, logs)
// and a test's reader can share; exported for the boot_test package.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
