package querycoord

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
)

// defaultRGCapacity is the default resource group's limits (Milvus's
// defaultResourceGroupCapacity).
const defaultRGCapacity = 1000000

const prefixRG = "query/rg/"

// RGConfig and RGInfo are the contract's.
type (
	RGConfig = contract.RGConfig
	RGInfo   = contract.RGInfo
)

type resourceGroup struct {
	Name   string   `json:"name"`
	Config RGConfig `json:"config"`
	Nodes  []int64  `json:"nodes"`
}

func (s *Server) loadRGs(ctx context.Context) error {
	s.rgs = map[string]*resourceGroup{}
	list, err := s.d.KV.List(ctx, prefixRG)
	if err != nil {
		return fmt.Errorf("querycoord: resource groups: %w", err)
	}
	for _, e := range list {
		var g resourceGroup
		if err := json.Unmarshal(e.Value, &g); err != nil {
			return fmt.Errorf("querycoord: decode %s: %w", e.Key, err)
		}
		s.rgs[g.Name] = &g
	}
	if _, ok := s.rgs[DefaultResourceGroup]; !ok {
		s.rgs[DefaultResourceGroup] = &resourceGroup{Name: DefaultResourceGroup, Config: RGConfig{Limits: defaultRGCapacity}}
	}
	return nil
}

func (s *Server) saveRG(ctx context.Context, g *resourceGroup) error {
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("querycoord: encode resource group %s: %w", g.Name, err)
	}
	if _, err := s.d.KV.Put(ctx, prefixRG+g.Name, b); err != nil {
		return fmt.Errorf("querycoord: save resource group %s: %w: %w", g.Name, errs.ErrResourceGroupServiceUnAvailable, err)
	}
	return nil
}

func rgNotFound(name string) error { return errs.ResourceGroupNotFound(name) }

func rgIllegal(name string, cfg RGConfig, reason string) error {
	return errs.ResourceGroupIllegalConfig(name, cfg, reason)
}

func (s *Server) validateRGLocked(name string, cfg RGConfig) error {
	if cfg.NoRequests || cfg.NoLimits {
		return rgIllegal(name, cfg, "requests or limits is required")
	}
	if cfg.Requests < 0 || cfg.Limits < 0 {
		return rgIllegal(name, cfg, "node num in `requests` or `limits` should not less than 0")
	}
	if cfg.Limits < cfg.Requests {
		return rgIllegal(name, cfg, "limits node num should not less than requests node num")
	}
	for _, g := range cfg.TransferFrom {
		if g == name {
			return rgIllegal(name, cfg, fmt.Sprintf("resource group in `TransferFrom` %s should not be itself", name))
		}
		if _, ok := s.rgs[g]; !ok {
			return rgIllegal(name, cfg, fmt.Sprintf("resource group in `TransferFrom` %s not exist", g))
		}
	}
	for _, g := range cfg.TransferTo {
		if g == name {
			return rgIllegal(name, cfg, fmt.Sprintf("resource group in `TransferTo` %s should not be itself", name))
		}
		if _, ok := s.rgs[g]; !ok {
			return rgIllegal(name, cfg, fmt.Sprintf("resource group in `TransferTo` %s not exist", g))
		}
	}
	return nil
}

// CreateResourceGroup adds a resource group; creating one that exists with
// the same configuration is a no-op, as in Milvus.
func (s *Server) CreateResourceGroup(ctx context.Context, name string, cfg RGConfig) error {
	if name == "" {
		return fmt.Errorf("resource group name couldn't be empty: %w", errs.ErrParameterMissing)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.rgs[name]; ok {
		if g.Config.Equal(cfg) {
			return nil
		}
		return errs.ResourceGroupAlreadyExist(name)
	}
	if len(s.rgs) >= maxResourceGroups {
		return errs.ResourceGroupReachLimit(name, maxResourceGroups)
	}
	if err := s.validateRGLocked(name, cfg); err != nil {
		return err
	}
	g := &resourceGroup{Name: name, Config: cfg}
	if err := s.saveRG(ctx, g); err != nil {
		return err
	}
	s.rgs[name] = g
	return s.applyNodesLocked(ctx)
}

// maxResourceGroups is quotaAndLimits.limits.maxResourceGroupNumOfQueryNode.
const maxResourceGroups = 1024

// UpdateResourceGroups changes resource groups' configurations; nodes move
// between groups to meet them.
func (s *Server) UpdateResourceGroups(ctx context.Context, groups map[string]RGConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		if _, ok := s.rgs[name]; !ok {
			return rgNotFound(name)
		}
		if err := s.validateRGLocked(name, groups[name]); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		g := *s.rgs[name]
		g.Config = groups[name]
		if err := s.saveRG(ctx, &g); err != nil {
			return err
		}
		s.rgs[name] = &g
	}
	return s.applyNodesLocked(ctx)
}

// DropResourceGroup removes an empty resource group (limits 0, no node, no
// replica, named by no other group's transfer configuration); dropping one
// that does not exist succeeds.
func (s *Server) DropResourceGroup(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == DefaultResourceGroup {
		return errs.InvalidParameterValue("not default resource group", name, "default resource group is not deletable")
	}
	g, ok := s.rgs[name]
	if !ok {
		return nil
	}
	if g.Config.Limits != 0 {
		return errs.InvalidParameterValue("not empty resource group", name, "resource group's limits node num is not 0")
	}
	// Milvus checks the live nodes labelled for the group
	// (validateResourceGroupIsDeletable); a group with limits 0 holds no
	// other node.
	for _, n := range slices.Concat(g.Nodes, s.liveNodesLocked()) {
		if slices.Contains(g.Nodes, n) || s.labels[n][LabelResourceGroup] == name {
			return errs.InvalidParameterValue("not empty resource group", fmt.Sprintf("node %d is still in the resource group", n))
		}
	}
	for _, rs := range s.replicas {
		for _, r := range rs {
			if r.ResourceGroup == name {
				return fmt.Errorf("some replicas still loaded in resource group[%s], release it first: %w", name, errs.ErrParameterInvalid)
			}
		}
	}
	for _, o := range s.rgs {
		if slices.Contains(o.Config.TransferFrom, name) {
			return errs.InvalidParameterValue("not `TransferFrom` of resource group", name,
				fmt.Sprintf("resource group %s is used by %s's `TransferFrom`, remove that configuration first", name, o.Name))
		}
		if slices.Contains(o.Config.TransferTo, name) {
			return errs.InvalidParameterValue("not `TransferTo` of resource group", name,
				fmt.Sprintf("resource group %s is used by %s's `TransferTo`, remove that configuration first", name, o.Name))
		}
	}
	if err := s.d.KV.Delete(ctx, prefixRG+name); err != nil {
		return fmt.Errorf("querycoord: drop resource group %s: %w", name, err)
	}
	delete(s.rgs, name)
	return nil
}

// ListResourceGroups lists the resource groups' names.
func (s *Server) ListResourceGroups(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.rgs)), nil
}

// DescribeResourceGroup describes a resource group.
func (s *Server) DescribeResourceGroup(_ context.Context, name string) (RGInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.rgs[name]
	if !ok {
		return RGInfo{}, rgNotFound(name)
	}
	info := RGInfo{Name: g.Name, Config: g.Config, LoadedReplicas: map[int64]int32{}, Outgoing: map[int64]int32{}, Incoming: map[int64]int32{}}
	for _, n := range g.Nodes {
		info.Nodes = append(info.Nodes, contract.RGNode{ID: n, Addr: s.live[n]})
	}
	// Milvus's DescribeResourceGroup: a replica of this group counts its
	// read-only nodes outside it as outgoing; a replica of another group
	// counts its read-only nodes inside this one as incoming.
	for id, rs := range s.replicas {
		for _, r := range rs {
			for _, n := range r.RONodes {
				in := slices.Contains(g.Nodes, n)
				switch {
				case r.ResourceGroup == name && !in:
					info.Outgoing[id]++
				case r.ResourceGroup != name && in:
					info.Incoming[id]++
				}
			}
			if r.ResourceGroup == name {
				info.LoadedReplicas[id]++
			}
		}
	}
	return info, nil
}

// TransferNode moves nodes between resource groups by their configuration,
// as Milvus 2.6 does: the source's requests and limits drop by n, the
// target's grow by n.
func (s *Server) TransferNode(ctx context.Context, source, target string, n int32) error {
	s.mu.Lock()
	src, ok1 := s.rgs[source]
	dst, ok2 := s.rgs[target]
	s.mu.Unlock()
	switch {
	case source == target:
		return errs.InvalidParameter("source resource group and target resource group should not be the same, resource group: %s", source)
	case n <= 0:
		return errs.InvalidParameterValue("NumNode > 0", fmt.Sprintf("invalid NumNode %d", n))
	case !ok1:
		return rgNotFound(source)
	case !ok2:
		return rgNotFound(target)
	case int(n) > len(src.Nodes):
		return errs.ResourceGroupNodeNotEnough(source, len(src.Nodes), int(n))
	}
	// Milvus's CheckIfTransferNode: the source asks n nodes fewer, and
	// is limited to n fewer unless it is the default group, whose limits
	// (its capacity, or what UpdateResourceGroups set) stay as they are.
	sc, dc := src.Config, dst.Config
	sc.Requests = max(sc.Requests-n, 0)
	if source != DefaultResourceGroup {
		sc.Limits = max(sc.Limits-n, 0)
	}
	dc.Requests += n
	dc.Limits = max(dc.Limits, dc.Requests)
	return s.UpdateResourceGroups(ctx, map[string]RGConfig{source: sc, target: dc})
}

// TransferReplica moves n replicas of a collection (named name in the
// errors, as Milvus names it) from one resource group to another. As in
// Milvus 2.6 the target needs no free node: a moved replica takes the
// target's nodes it can get, and keeps serving from its old nodes (as
// read-only nodes, DescribeResourceGroup's outgoing/incoming counts) until
// the target has one for it.
func (s *Server) TransferReplica(ctx context.Context, source, target string, collectionID int64, name string, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rgs[source]; !ok {
		return rgNotFound(source)
	}
	if _, ok := s.rgs[target]; !ok {
		return rgNotFound(target)
	}
	// Milvus 2.6's checks, in its order
	// (broadcastAlterLoadConfigCollectionV2ForTransferReplica).
	if source == target {
		return errs.InvalidParameter("source resource group and target resource group should not be the same, resource group: %s", source)
	}
	if n <= 0 {
		return errs.InvalidParameterValue("NumReplica > 0", fmt.Sprintf("invalid NumReplica %d", n))
	}
	if _, loaded := s.loaded[collectionID]; !loaded {
		return errs.CollectionNotLoaded(name)
	}
	if all := len(s.replicas[collectionID]); int(n) > all {
		return errs.InvalidParameterValue(n, all, "the number of replicas to transfer is greater than the number of replicas in the collection")
	}
	var from []*replica
	for _, r := range s.replicas[collectionID] {
		if r.ResourceGroup == source {
			from = append(from, r)
		}
	}
	if int64(len(from)) < n {
		return errs.InvalidParameterValue("NumReplica not greater than the number of replica in source resource group",
			fmt.Sprintf("only found [%d] replicas of collection [%s] in source resource group [%s], but %d require", len(from), name, source, n))
	}
	for _, r := range from[:n] {
		r.ResourceGroup = target
		if err := s.saveReplica(ctx, r); err != nil {
			return err
		}
	}
	return s.applyNodesLocked(ctx)
}

// LabelResourceGroup is the server label that binds a query node to a
// resource group (Milvus's sessionutil.LabelResourceGroup, set by
// MILVUS_SERVER_LABEL_RESOURCE_GROUP).
const LabelResourceGroup = "RESOURCE_GROUP"

// acceptsLocked is Milvus's ResourceGroup.AcceptNode: a node labelled for
// a resource group only that group; the default group takes any other
// node; another group any node when it has no node filter, else only a
// node carrying every label of the filter.
func (s *Server) acceptsLocked(g *resourceGroup, node int64) bool {
	labels := s.labels[node]
	if own := labels[LabelResourceGroup]; own != "" && own != g.Name {
		return false
	}
	if g.Name == DefaultResourceGroup {
		return true
	}
	for _, l := range g.Config.NodeLabels {
		if v, ok := labels[l.Key]; !ok || v != l.Value {
			return false
		}
	}
	return true
}

// groupOfLocked returns the resource group a node belongs to ("" none).
func (s *Server) groupOfLocked(node int64) string {
	for _, g := range s.rgs {
		if slices.Contains(g.Nodes, node) {
			return g.Name
		}
	}
	return ""
}

// assignGroupsLocked distributes the live nodes over the resource groups
// (Milvus's resource manager auto-recovery): dead nodes leave; each group
// below its requests takes nodes from the groups above theirs (its
// TransferFrom first, then the default group, then any); a group above its
// limits gives the excess back (its TransferTo first, else the default
// group); a new node goes to the group furthest below its requests, else
// to the default group. It reports whether anything changed.
func (s *Server) assignGroupsLocked() bool {
	changed := false
	for _, g := range s.rgs {
		kept := g.Nodes[:0]
		for _, n := range g.Nodes {
			if _, ok := s.live[n]; ok {
				kept = append(kept, n)
			} else {
				changed = true
			}
		}
		g.Nodes = kept
	}
	names := slices.Sorted(maps.Keys(s.rgs))
	// A node a group's node filter no longer accepts leaves it (for the
	// default group, or a group that takes it, below).
	var homeless []int64
	for _, name := range names {
		g := s.rgs[name]
		kept := g.Nodes[:0]
		for _, n := range g.Nodes {
			if s.acceptsLocked(g, n) {
				kept = append(kept, n)
			} else {
				homeless = append(homeless, n)
				changed = true
			}
		}
		g.Nodes = kept
	}
	// deficit is the group furthest below its requests that accepts node
	// (any node when node is 0).
	deficit := func(node int64) *resourceGroup {
		var best *resourceGroup
		for _, name := range names {
			g := s.rgs[name]
			if node != 0 && !s.acceptsLocked(g, node) {
				continue
			}
			if len(g.Nodes) < int(g.Config.Requests) && (best == nil || int(g.Config.Requests)-len(g.Nodes) > int(best.Config.Requests)-len(best.Nodes)) {
				best = g
			}
		}
		return best
	}
	for _, n := range slices.Concat(homeless, s.liveNodesLocked()) {
		if s.groupOfLocked(n) != "" {
			continue
		}
		// Milvus's mustSelectAssignIncomingNodeTargetRG: a labelled node
		// goes to its own group (created when missing), whatever else.
		g := s.labelledGroupLocked(n)
		if g == nil {
			g = deficit(n)
		}
		if g == nil {
			g = s.rgs[DefaultResourceGroup]
		}
		g.Nodes = append(g.Nodes, n)
		changed = true
	}
	// movable is the highest node of from that to accepts (0: none).
	movable := func(from, to *resourceGroup) int64 {
		var best int64
		for _, n := range from.Nodes {
			if n > best && s.acceptsLocked(to, n) {
				best = n
			}
		}
		return best
	}
	move := func(from, to *resourceGroup, n int64) {
		from.Nodes = slices.DeleteFunc(from.Nodes, func(x int64) bool { return x == n })
		to.Nodes = append(to.Nodes, n)
		changed = true
	}
	// Excess over limits goes back.
	// target is where an excess node n of g goes (nil: nowhere, as a node
	// labelled for g).
	target := func(g *resourceGroup, n int64) *resourceGroup {
		for _, t := range g.Config.TransferTo {
			if o, ok := s.rgs[t]; ok && len(o.Nodes) < int(o.Config.Limits) && s.acceptsLocked(o, n) {
				return o
			}
		}
		if d := deficit(n); d != nil {
			return d
		}
		if def := s.rgs[DefaultResourceGroup]; s.acceptsLocked(def, n) {
			return def
		}
		return nil
	}
	for _, name := range names {
		g := s.rgs[name]
		for len(g.Nodes) > int(g.Config.Limits) {
			var n int64
			var to *resourceGroup
			for _, c := range slices.Backward(slices.Sorted(slices.Values(g.Nodes))) { // highest first
				if t := target(g, c); t != nil && t != g {
					n, to = c, t
					break
				}
			}
			if to == nil {
				break
			}
			move(g, to, n)
		}
	}
	// Groups below requests take redundant nodes they accept.
	stuck := map[*resourceGroup]bool{}
	for {
		var g *resourceGroup
		for _, name := range names {
			o := s.rgs[name]
			if !stuck[o] && len(o.Nodes) < int(o.Config.Requests) && (g == nil || int(o.Config.Requests)-len(o.Nodes) > int(g.Config.Requests)-len(g.Nodes)) {
				g = o
			}
		}
		if g == nil {
			break
		}
		var from *resourceGroup
		var node int64
		candidates := append(slices.Clone(g.Config.TransferFrom), DefaultResourceGroup)
		candidates = append(candidates, names...)
		for _, c := range candidates {
			o, ok := s.rgs[c]
			if !ok || o == g || len(o.Nodes) <= int(o.Config.Requests) {
				continue
			}
			if n := movable(o, g); n != 0 {
				from, node = o, n
				break
			}
		}
		if from == nil {
			stuck[g] = true
			continue
		}
		move(from, g, node)
	}
	for _, g := range s.rgs {
		slices.Sort(g.Nodes)
	}
	return changed
}

// labelledGroupLocked is the group a node's RESOURCE_GROUP label names,
// created (requests 0, limits the default capacity, as Milvus's
// createResourceGroupIfNotExists) when missing; nil for an unlabelled node
// or a group that cannot be created (the resource group limit).
func (s *Server) labelledGroupLocked(node int64) *resourceGroup {
	name := s.labels[node][LabelResourceGroup]
	if name == "" {
		return nil
	}
	if g, ok := s.rgs[name]; ok {
		return g
	}
	if len(s.rgs) >= maxResourceGroups {
		s.logger.Warn("resource group of a labelled node not created: too many groups", "group", name, "node", node)
		return nil
	}
	g := &resourceGroup{Name: name, Config: RGConfig{Limits: defaultRGCapacity}}
	s.rgs[name] = g
	s.logger.Info("resource group created for a labelled node", "group", name, "node", node)
	return g
}

// applyNodesLocked redistributes nodes over the groups, saves the groups,
// and reassigns replicas' nodes and shards to match.
func (s *Server) applyNodesLocked(ctx context.Context) error {
	var errList []error
	if s.assignGroupsLocked() {
		for _, name := range slices.Sorted(maps.Keys(s.rgs)) {
			if err := s.saveRG(ctx, s.rgs[name]); err != nil {
				errList = append(errList, err)
			}
		}
	}
	for id, rs := range s.replicas {
		if s.rebalanceLocked(rs) {
			for _, r := range rs {
				if err := s.saveReplica(ctx, r); err != nil {
					errList = append(errList, err)
				}
			}
			s.logger.Info("replicas reassigned", "collection", id, "replicas", describeReplicas(rs))
		}
	}
	if err := s.syncPendingLocked(ctx); err != nil {
		errList = append(errList, err)
	}
	return errors.Join(errList...)
}

// rgNodesLocked lists a resource group's live nodes.
func (s *Server) rgNodesLocked(name string) []int64 {
	g, ok := s.rgs[name]
	if !ok {
		return nil
	}
	return slices.Clone(g.Nodes)
}

func sortReplicas(rs []*replica) {
	slices.SortFunc(rs, func(a, b *replica) int { return cmp.Compare(a.ID, b.ID) })
}
