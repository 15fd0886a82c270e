package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rayos/engine/systems/intent"
	"github.com/rayos/engine/world"
	"github.com/rayos/engine/world/atomicfile"
)

// ReadLabels reads a labels file (JSON Lines of Label); errors name the
// file and line. A seq labelled twice is an error.
func ReadLabels(path string) (map[uint64]string, error) {
	data, err := atomicfile.ReadRegular(path, maxLabels)
	if err != nil {
		return nil, err
	}
	return readLabelsFrom(path, data)
}

// maxLabels bounds a labels file (a million utterances' labels).
const maxLabels = 64 << 20

func readLabelsFrom(path string, data []byte) (map[uint64]string, error) {
	out := map[uint64]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		var l struct {
			Seq    *uint64 `json:"seq"`
			Target string  `json:"target"`
			Case   string  `json:"case"`
		}
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		switch {
		case l.Seq == nil:
			return nil, fmt.Errorf("%s:%d: missing field seq", path, line)
		case l.Target == "":
			return nil, fmt.Errorf("%s:%d: missing field target", path, line)
		}
		if prev, dup := out[*l.Seq]; dup {
			return nil, fmt.Errorf("%s:%d: seq %d is already labelled %q", path, line, *l.Seq, prev)
		}
		out[*l.Seq] = l.Target
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// CorrectionWindow is how soon after an utterance a "cancel", and after
// that a request naming a guest, must come for DeriveLabels to read them
// as a correction.
const CorrectionWindow = 5 // seconds

// DeriveLabels labels a recorded journal's utterances from what the user
// did next. The resolver's choice is right unless a "cancel" (text or
// voice) follows within CorrectionWindow seconds; then the first later
// utterance within the window that names a guest exactly (a candidate
// with Name 1) labels that guest, and without one the utterance is left
// out. Utterances the resolver chose nothing for are left out.
func DeriveLabels(j *world.Journal, utts []intent.Utterance) map[uint64]string {
	window := uint64(CorrectionWindow * j.Header.Hz)
	out := map[uint64]string{}
	tickOf := func(seq uint64) uint64 { return j.Events[seq-1].Tick } // Seq counts from 1
	for i, u := range utts {
		if u.Chosen < 0 || u.Chosen >= len(u.Names) || u.Source == 0 || u.Source > uint64(len(j.Events)) {
			continue
		}
		label := u.Names[u.Chosen]
		at := tickOf(u.Source)
		for seq := u.Source + 1; seq <= uint64(len(j.Events)) && tickOf(seq) <= at+window; seq++ {
			in := j.Events[seq-1].Input
			if (in.Kind == "text" || in.Kind == "voice") && strings.EqualFold(strings.TrimSpace(in.Text), "cancel") {
				label = corrected(utts[i+1:], seq, tickOf(seq)+window, tickOf)
				break
			}
		}
		if label != "" {
			out[u.Source] = label
		}
	}
	return out
}

// corrected is the guest the first utterance after seq (and before tick
// until) names exactly, or "".
func corrected(later []intent.Utterance, seq, until uint64, tickOf func(uint64) uint64) string {
	for _, u := range later {
		if u.Source <= seq {
			continue
		}
		if tickOf(u.Source) > until {
			return ""
		}
		for k, c := range u.Candidates {
			if c.Name >= 1 {
				return u.Names[k]
			}
		}
	}
	return ""
}

// Examples pairs utterances with their labels; hz is the journal's tick
// rate. Utterances without a label, or whose label is not among their
// candidates, are counted in skipped.
func Examples(utts []intent.Utterance, labels map[uint64]string, hz float64) (examples []Example, skipped int) {
	for _, u := range utts {
		target := -1
		for k, n := range u.Names {
			if n == labels[u.Source] {
				target = k
			}
		}
		if target < 0 || len(u.Candidates) != len(u.Names) {
			skipped++
			continue
		}
		ex := Example{Source: u.Source, Tick: u.Tick, Names: u.Names, Target: target, Focused: -1}
		var dwell uint64
		for k, c := range u.Candidates {
			ex.Feats = append(ex.Feats, c.Features(hz))
			if c.DwellTicks > dwell {
				ex.Focused, dwell = k, c.DwellTicks
			}
		}
		examples = append(examples, ex)
	}
	return examples, skipped
}
