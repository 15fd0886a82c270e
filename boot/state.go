package boot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
)

// MaxBootFailures is how many boots of one entry may fail (never reach
// ready) before the runtime, left to choose, falls back to the previous
// (last known good) entry — like systemd-boot's boot counting.
const MaxBootFailures = 3

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
}

// Attempt is one boot.
type Attempt struct {
	Entry        string `toml:"entry"`
	StartedUnix  int64  `toml:"started_unix"`
	ReachedReady bool   `toml:"reached_ready"`
}

// ReadState reads the state file; a missing one is a fresh state.
func ReadState(path string) (State, error) {
	st := State{Failures: map[string]int{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if _, err := toml.Decode(string(data), &st); err != nil {
		return State{Failures: map[string]int{}}, fmt.Errorf("%s: %w", path, err)
	}
	if st.Failures == nil {
		st.Failures = map[string]int{}
	}
	return st, nil
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
	if st.Attempt.Entry != "" && !st.Attempt.ReachedReady {
		st.Failures[st.Attempt.Entry]++
	}
	st.Attempt = Attempt{Entry: entry, StartedUnix: now.Unix()}
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

// ChooseEntry picks the entry to boot. An explicit request wins (previous
// needs a last-good snapshot, else recovery); left to choose, the runtime
// boots normal unless normal has failed MaxBootFailures times in a row, and
// then previous. why explains a fallback; it is empty otherwise.
func ChooseEntry(requested string, st State, havePrevious bool) (entry, why string) {
	failures := st.Failures[EntryNormal]
	if st.PendingFailure() && st.Attempt.Entry == EntryNormal {
		failures++ // the attempt that is about to be counted
	}
	switch requested {
	case EntryRecovery, EntryNormal:
		return requested, ""
	case EntryPrevious:
		if havePrevious {
			return EntryPrevious, ""
		}
		return EntryRecovery, "no last-good snapshot for previous"
	}
	if failures >= MaxBootFailures {
		if havePrevious {
			return EntryPrevious, fmt.Sprintf("normal failed %d times in a row", failures)
		}
		return EntryRecovery, fmt.Sprintf("normal failed %d times in a row and there is no last-good snapshot", failures)
	}
	return EntryNormal, ""
}
