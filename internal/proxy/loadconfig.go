package proxy

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/milvago/milvago/internal/model"
)

// Load configuration properties (Milvus's pkg/common).
const (
	propCollectionReplicaNumber  = "collection.replica.number"
	propCollectionResourceGroups = "collection.resource_groups"
	propDatabaseReplicaNumber    = "database.replica.number"
	propDatabaseResourceGroups   = "database.resource_groups"
)

// loadConfig is Milvus 2.6's getDefaultResourceGroupsAndReplicaNumber with
// the broker's GetCollectionLoadInfo: a load naming neither a replica
// number nor resource groups takes them from the collection's properties,
// then its database's; what is still unset is 1 replica in the default
// group (rgs nil). Malformed properties are ignored, as Milvus does.
func (s *Server) loadConfig(ctx context.Context, c *model.Collection, replicas int32, rgs []string) (int32, []string) {
	if replicas > 0 || len(rgs) > 0 {
		return replicas, rgs
	}
	props := map[string]string{}
	for _, kv := range c.Properties {
		props[kv.GetKey()] = kv.GetValue()
	}
	n, _ := propReplicas(props, propCollectionReplicaNumber)
	groups, _ := propGroups(props, propCollectionResourceGroups)
	if n <= 0 || len(groups) == 0 {
		db, err := s.d.Root.DescribeDatabase(ctx, c.DBName)
		if err != nil {
			// Milvus logs the failed look-up and loads with the defaults.
			s.logger.Warn("failed to get pre-defined load info", "collection", c.Name, "error", err)
			return 0, nil
		}
		if n <= 0 {
			n, _ = propReplicas(db.Properties, propDatabaseReplicaNumber)
		}
		if len(groups) == 0 {
			groups, _ = propGroups(db.Properties, propDatabaseResourceGroups)
		}
	}
	if n > 0 || len(groups) > 0 {
		s.logger.Info("pre-defined load info", "collection", c.Name, "replicas", n, "resource_groups", groups, slog.String("db", c.DBName))
	}
	return int32(n), groups
}

func propReplicas(props map[string]string, key string) (int64, bool) {
	v, ok := props[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func propGroups(props map[string]string, key string) ([]string, bool) {
	v, ok := props[key]
	if !ok || v == "" {
		return nil, false
	}
	groups := strings.Split(v, ",")
	for i := range groups {
		groups[i] = strings.TrimSpace(groups[i])
	}
	return groups, true
}
