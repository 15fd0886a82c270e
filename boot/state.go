package boot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/rayos/engine/world/atomicfile"
)

// MaxBootFailures is how many boots of one entry may fail (never reach
// ready) before the runtime, left to choose, falls back: normal to the
// previous (last known good) entry, previous to recovery — like
// systemd-boot's boot counting.
const MaxBootFailures = 3

// maxFailureCount is where a failure count stops growing. A machine stuck
// in a boot loop for years stays below it; a state file that claims more
// was not written by RayOS.
const maxFailureCount = 1_000_000

// State is boot/state.toml: the attempt in progress and the failure count
// of each entry.
type State struct {
	// LastGood is the entry of the last boot that reached ready.
	LastGood string `toml:"last_good"`
	// Attempt is the latest boot; if it never reached ready, the next boot
	// counts it as a failure of its entry.
	Attempt Attempt `toml:"attempt"`
	// Failures counts consecutive failed boots per entry.
	Failures map[string]int `toml:"failures"`

	// attempted is set once this run has begun its own attempt (Begin),
	// whether or not the file could be written; never saved.
	attempted bool
}

// Attempt is one boot.
type Attempt struct {
	Entry        string `toml:"entry"`
	StartedUnix  int64  `toml:"started_unix"`
	ReachedReady bool   `toml:"reached_ready"`
}

// ReadState reads the state file; a missing one is a fresh state. The
// file is read strictly — it must be a regular file of at most 64 KiB,
// with no unknown keys, known entries only and counts in [0, 1000000] —
// because boot counting decides what boots: a file that fails any check
// gives a fresh state and an error naming the file and key, and the
// caller counts from zero.
func ReadState(path string) (State, error) {
	fresh := State{Failures: map[string]int{}}
	data, err := atomicfile.ReadRegular(path, atomicfile.MaxRecordSize)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return fresh, err
	}
	var st State
	md, err := toml.Decode(string(data), &st)
	if err != nil {
		return fresh, fmt.Errorf("%s: %w", path, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return fresh, fmt.Errorf("%s: %s: unknown key", path, keys[0].String())
	}
	// The decoder leaves a map alone when the file has a scalar there.
	if md.IsDefined("failures") && md.Type("failures") != "Hash" {
		return fresh, fmt.Errorf("%s: failures: a %s, want a table of counts per entry", path, strings.ToLower(md.Type("failures")))
	}
	if err := st.check(); err != nil {
		return fresh, fmt.Errorf("%s: %w", path, err)
	}
	if st.Failures == nil {
		st.Failures = map[string]int{}
	}
	return st, nil
}

// check reports the first value of a decoded state that RayOS would never
// have written, naming its key.
func (st State) check() error {
	known := func(entry string) bool { return slices.Contains(Entries, entry) }
	if st.LastGood != "" && !known(st.LastGood) {
		return fmt.Errorf("last_good: unknown entry %q (want one of %s)", st.LastGood, strings.Join(Entries, ", "))
	}
	if st.Attempt.Entry != "" && !known(st.Attempt.Entry) {
		return fmt.Errorf("attempt.entry: unknown entry %q (want one of %s)", st.Attempt.Entry, strings.Join(Entries, ", "))
	}
	if st.Attempt.StartedUnix < 0 {
		return fmt.Errorf("attempt.started_unix: %d is negative", st.Attempt.StartedUnix)
	}
	for _, entry := range slices.Sorted(maps.Keys(st.Failures)) {
		n := st.Failures[entry]
		switch {
		case !known(entry):
			return fmt.Errorf("failures.%s: unknown entry (want one of %s)", entry, strings.Join(Entries, ", "))
		case n < 0 || n > maxFailureCount:
			return fmt.Errorf("failures.%s: %d is out of range [0, %d]", entry, n, maxFailureCount)
		}
	}
	return nil
}

// Write saves the state crash-safely.
func (st State) Write(path string) error {
	var buf bytes.Buffer
	buf.WriteString("# Written by rayos at every boot; boot counting and the last good entry.\n")
	if err := toml.NewEncoder(&buf).Encode(st); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return writeBytes(path, buf.Bytes())
}

// Begin records a new boot attempt of entry, first counting the previous
// attempt as a failure if it never reached ready.
func (st *State) Begin(entry string, now time.Time) {
	if st.Failures == nil {
		st.Failures = map[string]int{}
	}
	if st.PendingFailure() {
		st.Failures[st.Attempt.Entry] = min(st.Failures[st.Attempt.Entry]+1, maxFailureCount)
	}
	st.Attempt = Attempt{Entry: entry, StartedUnix: now.Unix()}
	st.attempted = true
}

// Ready records that the current attempt reached ready.
func (st *State) Ready() {
	st.Attempt.ReachedReady = true
	st.Failures[st.Attempt.Entry] = 0
	st.LastGood = st.Attempt.Entry
}

// PendingFailure reports whether the latest attempt never reached ready
// (it will count once the next attempt begins).
func (st *State) PendingFailure() bool {
	return st.Attempt.Entry != "" && !st.Attempt.ReachedReady
}

// failures is entry's failure count including the pending attempt, which
// is about to be counted.
func (st *State) failures(entry string) int {
	n := st.Failures[entry]
	if st.PendingFailure() && st.Attempt.Entry == entry {
		n++
	}
	return n
}

// ChooseEntry picks the entry to boot. An explicit request wins (previous
// needs a last-good snapshot, else recovery). Left to choose, the runtime
// boots normal unless normal has failed MaxBootFailures times in a row;
// then previous, unless previous has also failed MaxBootFailures times in
// a row (or there is no last-good snapshot); then recovery. why explains
// a fallback; it is empty otherwise.
func ChooseEntry(requested string, st State, havePrevious bool) (entry, why string) {
	switch requested {
	case EntryRecovery, EntryNormal:
		return requested, ""
	case EntryPrevious:
		if havePrevious {
			return EntryPrevious, ""
		}
		return EntryRecovery, "no last-good snapshot for previous"
	}
	normal := st.failures(EntryNormal)
	if normal < MaxBootFailures {
		return EntryNormal, ""
	}
	if !havePrevious {
		return EntryRecovery, fmt.Sprintf("normal failed %d times in a row and there is no last-good snapshot", normal)
	}
	if previous := st.failures(EntryPrevious); previous >= MaxBootFailures {
		return EntryRecovery, fmt.Sprintf("previous failed %d times in a row (and normal %d times)", previous, normal)
	}
	return EntryPrevious, fmt.Sprintf("normal failed %d times in a row", normal)
}
