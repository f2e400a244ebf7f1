package querycoord

import (
	"context"
	"maps"
	"slices"
	"sort"
)

// reassignGroupsLocked moves a loaded collection's replicas to the
// resource groups a new LoadCollection names, as Milvus 2.6's
// UpdateLoadConfig job does (utils.ReassignReplicaToRG): each group gets
// its share (all replicas in one group, or one per group); replicas in
// groups no longer named, then a group's surplus, are transferred to the
// groups that lack them, the smallest group name first. Their nodes are
// then dealt anew and the shards follow (applyNodesLocked), as after
// TransferReplica.
func (s *Server) reassignGroupsLocked(ctx context.Context, collectionID int64, n int32, rgs []string) error {
	out, err := s.assignReplicasLocked(rgs, n, false)
	if err != nil {
		return err
	}
	want := map[string]int{}
	for _, g := range out {
		want[g]++
	}
	rs := slices.Clone(s.replicas[collectionID])
	slices.SortFunc(rs, func(a, b *replica) int { return int(a.ID - b.ID) })
	in := map[string][]*replica{}
	for _, r := range rs {
		in[r.ResourceGroup] = append(in[r.ResourceGroup], r)
	}
	var candidates []*replica
	var gone []string
	for g := range in {
		if _, ok := want[g]; !ok {
			gone = append(gone, g)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(gone)))
	for _, g := range gone {
		candidates = append(candidates, in[g]...)
	}
	lack := map[string]int{}
	for _, g := range slices.Sorted(maps.Keys(want)) {
		if have := len(in[g]); have > want[g] {
			candidates = append(candidates, in[g][want[g]:]...)
		} else if have < want[g] {
			lack[g] = want[g] - have
		}
	}
	var moved []*replica
	for _, g := range slices.Sorted(maps.Keys(lack)) {
		for ; lack[g] > 0 && len(candidates) > 0; lack[g]-- {
			r := candidates[0]
			candidates = candidates[1:]
			r.ResourceGroup = g
			moved = append(moved, r)
		}
	}
	if len(moved) == 0 {
		return nil
	}
	for _, r := range moved {
		if err := s.saveReplica(ctx, r); err != nil {
			return err
		}
		s.logger.Info("replica moved to another resource group", "collection", collectionID, "replica", r.ID, "rg", r.ResourceGroup)
	}
	return s.applyNodesLocked(ctx)
}
