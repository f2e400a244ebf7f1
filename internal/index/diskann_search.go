package index

import (
	"slices"
)

// diskannSearcher is one search worker's reusable state.
type diskannSearcher struct {
	d        *diskann
	l        int
	visit    []uint32
	gen      uint32
	ip       []float32 // PQ inner-product table, m*256
	table    []float32 // PQ distance table, m*256
	list     []vamanaCand
	expanded []bool
	full     []vamanaCand // expanded nodes scored on their full vectors
	beamIdx  []int
	ids      []uint32
}

func newDiskannSearcher(d *diskann, l int) *diskannSearcher {
	m := d.pq.m * d.pq.ksub
	return &diskannSearcher{d: d, l: l, visit: make([]uint32, d.n), ip: make([]float32, m), table: make([]float32, m)}
}

// search is DiskANN's beam search: the candidate list (size L) is ranked by
// PQ distance; each step reads the records of up to beam of its nearest
// unexpanded nodes, scores them on their full vectors and adds their
// neighbours by PQ distance. The answer is the K best expanded nodes by full
// distance. Rows set in skip are walked through but not returned.
func (s *diskannSearcher) search(q []float32, k, beam int, skip []uint64, labels []int64, dists []float32) {
	d := s.d
	p := d.pq
	p.queryTable(q, s.ip)
	if d.ip {
		for i, v := range s.ip {
			s.table[i] = -v
		}
	} else {
		for i, v := range s.ip {
			s.table[i] = d.cnorm[i] - 2*v
		}
	}
	s.gen++
	if s.gen == 0 {
		clear(s.visit)
		s.gen = 1
	}
	cs := p.codeSize()
	pqDist := func(i int) float32 { return p.sum(d.codes[i*cs:(i+1)*cs], s.table) }
	s.list = append(s.list[:0], vamanaCand{uint32(d.medoid), pqDist(d.medoid)})
	s.expanded = append(s.expanded[:0], false)
	s.full = s.full[:0]
	s.visit[d.medoid] = s.gen
	for {
		s.beamIdx = s.beamIdx[:0]
		for i, e := range s.expanded {
			if !e {
				s.beamIdx = append(s.beamIdx, i)
				if len(s.beamIdx) >= beam {
					break
				}
			}
		}
		if len(s.beamIdx) == 0 {
			break
		}
		// Snapshot the beam's ids: inserting neighbours shifts the list.
		s.ids = s.ids[:0]
		for _, i := range s.beamIdx {
			s.expanded[i] = true
			s.ids = append(s.ids, s.list[i].id)
		}
		for _, u := range s.ids {
			rec := d.record(int(u))
			x := d.vector(rec)
			var fd float32
			if d.ip {
				fd = -dot(q, x)
			} else {
				fd = l2sq(q, x)
			}
			if skip == nil || skip[u>>6]&(1<<(u&63)) == 0 {
				s.full = append(s.full, vamanaCand{u, fd})
			}
			for _, v := range d.neighbors(rec) {
				if int(v) >= d.n || s.visit[v] == s.gen {
					continue // out of range: a corrupt record, never followed
				}
				s.visit[v] = s.gen
				dv := pqDist(int(v))
				s.list, s.expanded = insertCandidate(s.list, s.expanded, s.l, vamanaCand{v, dv})
			}
		}
	}
	slices.SortFunc(s.full, func(a, b vamanaCand) int {
		if a.d < b.d {
			return -1
		}
		if a.d > b.d {
			return 1
		}
		return int(a.id) - int(b.id)
	})
	for i := 0; i < k && i < len(s.full); i++ {
		labels[i] = int64(s.full[i].id)
		if d.ip {
			dists[i] = -s.full[i].d
		} else {
			dists[i] = s.full[i].d
		}
	}
}

// insertCandidate puts c into list, kept sorted by distance and at most l
// long (expanded runs parallel to it: whether each candidate was visited).
// A candidate no closer than the last of a full list is left out.
func insertCandidate(list []vamanaCand, expanded []bool, l int, c vamanaCand) ([]vamanaCand, []bool) {
	if len(list) >= l && c.d >= list[len(list)-1].d {
		return list, expanded
	}
	at, _ := slices.BinarySearchFunc(list, c.d, func(x vamanaCand, t float32) int {
		if x.d < t {
			return -1
		}
		if x.d > t {
			return 1
		}
		return 0
	})
	if len(list) >= l {
		list, expanded = list[:len(list)-1], expanded[:len(expanded)-1]
	}
	return slices.Insert(list, at, c), slices.Insert(expanded, at, false)
}
