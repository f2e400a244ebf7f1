// Package placement deals physical channels to live nodes: the policy the
// data coordinator (which data node consumes a pchannel) and the streaming
// coordinator (which streaming node writes it) share. It is pure: callers
// keep the owners and persist them.
package placement

import (
	"cmp"
	"maps"
	"slices"
)

// AssignOrphans returns a new owner for every needed channel whose owner
// is not live: the live node owning the fewest channels (ties: the lowest
// ID), channels dealt in name order. It returns nil when no node is live.
func AssignOrphans(owner map[string]int64, needed []string, live map[int64]bool) map[string]int64 {
	if len(live) == 0 {
		return nil
	}
	load := map[int64]int{}
	for id := range live {
		load[id] = 0
	}
	for _, node := range owner {
		if live[node] {
			load[node]++
		}
	}
	var orphans []string
	for _, ch := range needed {
		if !live[owner[ch]] {
			orphans = append(orphans, ch)
		}
	}
	slices.Sort(orphans)
	orphans = slices.Compact(orphans)
	next := map[string]int64{}
	for _, ch := range orphans {
		nodes := slices.Collect(maps.Keys(load))
		best := slices.MinFunc(nodes, func(a, b int64) int { return cmp.Or(cmp.Compare(load[a], load[b]), cmp.Compare(a, b)) })
		load[best]++
		next[ch] = best
	}
	return next
}

// Move picks one needed channel to move from the live node owning the
// most to the one owning the fewest, when they differ by two or more (the
// busiest's first channel by name); ok is false when balanced.
func Move(owner map[string]int64, needed []string, live map[int64]bool) (ch string, src, dst int64, ok bool) {
	if len(live) < 2 {
		return "", 0, 0, false
	}
	owned := map[int64][]string{}
	for id := range live {
		owned[id] = nil
	}
	for _, c := range needed {
		if node := owner[c]; live[node] && !slices.Contains(owned[node], c) {
			owned[node] = append(owned[node], c)
		}
	}
	nodes := slices.Sorted(maps.Keys(owned))
	src = slices.MaxFunc(nodes, func(a, b int64) int { return cmp.Or(cmp.Compare(len(owned[a]), len(owned[b])), cmp.Compare(b, a)) })
	dst = slices.MinFunc(nodes, func(a, b int64) int { return cmp.Or(cmp.Compare(len(owned[a]), len(owned[b])), cmp.Compare(a, b)) })
	if len(owned[src])-len(owned[dst]) < 2 {
		return "", 0, 0, false
	}
	return slices.Min(owned[src]), src, dst, true
}
