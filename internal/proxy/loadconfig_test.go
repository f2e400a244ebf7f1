package proxy

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/model"
)

// dbRoot answers DescribeDatabase from a fixed set of databases.
type dbRoot struct {
	rootCoord
	dbs map[string]map[string]string
}

func (r dbRoot) DescribeDatabase(_ context.Context, name string) (contract.Database, error) {
	return contract.Database{Name: name, Properties: r.dbs[name]}, nil
}

// TestLoadConfig: a load naming neither replicas nor resource groups takes
// them from the collection's properties, then its database's.
func TestLoadConfig(t *testing.T) {
	s := &Server{logger: slog.New(slog.DiscardHandler), d: Deps{Root: dbRoot{dbs: map[string]map[string]string{
		"db1": {propDatabaseReplicaNumber: "2", propDatabaseResourceGroups: "rg1, rg2"},
		"db2": {propDatabaseReplicaNumber: "x"},
	}}}}
	coll := func(db string, props ...string) *model.Collection {
		c := &model.Collection{Name: "c", DBName: db}
		for i := 0; i+1 < len(props); i += 2 {
			c.Properties = append(c.Properties, &commonpb.KeyValuePair{Key: props[i], Value: props[i+1]})
		}
		return c
	}
	cases := []struct {
		c        *model.Collection
		replicas int32
		rgs      []string
		want     int32
		wantRGs  []string
	}{
		{coll("db1"), 0, nil, 2, []string{"rg1", "rg2"}},
		{coll("db1"), 1, nil, 1, nil}, // the request names replicas: nothing is looked up
		{coll("db1"), 0, []string{"rgx"}, 0, []string{"rgx"}},
		{coll("db1", propCollectionReplicaNumber, "3"), 0, nil, 3, []string{"rg1", "rg2"}},
		{coll("db1", propCollectionReplicaNumber, "1", propCollectionResourceGroups, "rgc"), 0, nil, 1, []string{"rgc"}},
		{coll("db2"), 0, nil, 0, nil}, // malformed: ignored
		{coll("default"), 0, nil, 0, nil},
	}
	for i, tc := range cases {
		n, rgs := s.loadConfig(context.Background(), tc.c, tc.replicas, tc.rgs)
		if n != tc.want || !slices.Equal(rgs, tc.wantRGs) {
			t.Errorf("case %d: %d %v, want %d %v", i, n, rgs, tc.want, tc.wantRGs)
		}
	}
}
