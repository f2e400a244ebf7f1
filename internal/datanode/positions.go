package datanode

import "sort"

// positionTimes remembers the timestamp of each log position a pipeline has
// read, oldest first, so that a checkpoint held back at an earlier position
// is saved with that position's timestamp rather than the newest one.
type positionTimes struct {
	ids []uint64
	ts  []uint64
}

func (p *positionTimes) add(id, ts uint64) {
	if n := len(p.ids); n > 0 && id <= p.ids[n-1] {
		return // a re-read after a restart of the reader
	}
	p.ids = append(p.ids, id)
	p.ts = append(p.ts, ts)
}

// tsAt returns the timestamp of the last position at or before id, or 0 when
// none was read.
func (p *positionTimes) tsAt(id uint64) uint64 {
	i := sort.Search(len(p.ids), func(i int) bool { return p.ids[i] > id })
	if i == 0 {
		return 0
	}
	return p.ts[i-1]
}

// trimBefore forgets positions before id, keeping the last one at or before
// it (tsAt(id) still answers).
func (p *positionTimes) trimBefore(id uint64) {
	i := sort.Search(len(p.ids), func(i int) bool { return p.ids[i] > id })
	if i <= 1 || i-1 < len(p.ids)/2 {
		return // copy only when at least half goes
	}
	n := copy(p.ids, p.ids[i-1:])
	copy(p.ts, p.ts[i-1:])
	p.ids, p.ts = p.ids[:n], p.ts[:n]
}
