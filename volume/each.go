package volume

// Each calls fn with every live item — copies of its ID, text and
// metadata, no vector — in ID order, until fn returns false. It holds the
// read lock throughout: fn must not call the Volume's writing methods.
// `rayos volume remove --file` and re-ingestion find a file's passages
// with it.
func (v *Volume) Each(fn func(Item) bool) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.closed {
		return ErrClosed
	}
	for s := range v.items {
		if v.dead[s] {
			continue
		}
		it := &v.items[s]
		if !fn(Item{ID: it.ID, Text: it.Text, Meta: copyMeta(it.Meta)}) {
			break
		}
	}
	return nil
}
