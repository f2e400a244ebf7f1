package querynode

// learnIndexType records the index type a search names for a vector field
// and, when it changed, tells the shard's growing segments, so that they
// build an interim index only for a field whose index can use one and
// start building it once such an index is created (Milvus's growing
// segments take the field's index meta for the same decision).
func (dl *delegator) learnIndexType(field int64, typ string) {
	dl.mu.RLock()
	known, ok := dl.indexTypes[field]
	dl.mu.RUnlock()
	if ok && known == typ {
		return
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if dl.indexTypes == nil {
		dl.indexTypes = map[int64]string{}
	}
	dl.indexTypes[field] = typ
	for _, g := range dl.growing {
		g.SetIndexType(field, typ)
	}
}
