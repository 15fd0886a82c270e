package keys

import (
	"slices"
	"strings"
)

// maxFuzzy bounds the words the did-you-mean search looks at: a name
// longer than any key is no misspelling of one, and the distance costs
// len(a)*len(b).
const maxFuzzy = 32

// Distance is the optimal-string-alignment edit distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours, each 1),
// counted in runes: "strat" is 1 from "start". RayOS's did-you-mean
// answers all use it, for key names and for words.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 {
		return len(rb)
	}
	if len(rb) == 0 {
		return len(ra)
	}
	// Three rows: the one before last is needed for swaps.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Closest returns up to n key names nearest to name, nearest first (ties
// by name): those within an edit distance of about a third of the name's
// length (at least 1), or that start with it ("page" → pagedown, pageup).
// A name too long to be a misspelled key gives none.
func Closest(name string, n int) []string {
	q := normalize(name)
	if q == "" || n <= 0 || len(q) > maxFuzzy {
		return nil
	}
	limit := max(1, (len([]rune(q))+1)/3)
	type scored struct {
		name string
		d    int
	}
	var found []scored
	for _, cand := range names {
		d := Distance(q, cand)
		if len(q) >= 2 && strings.HasPrefix(cand, q) {
			d = min(d, 1)
		}
		if d <= limit && d > 0 {
			found = append(found, scored{cand, d})
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int { return a.d - b.d })
	// One name per key: "delet" is answered with delete, not also del.
	var out []string
	var seen []uint32
	for _, s := range found {
		c, _ := Code(s.name)
		if slices.Contains(seen, c) {
			continue
		}
		seen = append(seen, c)
		if out = append(out, s.name); len(out) == n {
			break
		}
	}
	return out
}
