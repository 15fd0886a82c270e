package vcpu

import (
	"cmp"
	"maps"
	"slices"
)

// sortedKeys orders new tasks by guest then index (emulator first), so that
// entity ids, and with them a replay, do not depend on map order.
func sortedKeys(m map[key]want) []key {
	return slices.SortedFunc(maps.Keys(m), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.guest, b.guest), cmp.Compare(a.index, b.index))
	})
}
