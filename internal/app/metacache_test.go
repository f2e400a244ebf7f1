package app

import (
	"testing"

	"github.com/milvago/milvago/internal/rpc/pb"
)

// Every DDL of the coordinators names what the proxies must drop; reads
// name nothing.
func TestInvalidationsOf(t *testing.T) {
	coll := &pb.Collection{Id: 5}
	for _, tc := range []struct {
		method string
		req    any
		want   []*pb.InvalidateCacheRequest
	}{
		{pb.RootCoord_DescribeCollection_FullMethodName, &pb.CollectionRequest{Name: "a"}, nil},
		{pb.RootCoord_DropCollection_FullMethodName, &pb.CollectionRequest{DbName: "d", Name: "a"},
			[]*pb.InvalidateCacheRequest{{Op: "DropCollection", DbName: "d", CollectionName: "a"}}},
		{pb.RootCoord_AlterAlias_FullMethodName, &pb.AliasRequest{DbName: "d", Alias: "al", Collection: "b"},
			[]*pb.InvalidateCacheRequest{{Op: pb.RootCoord_AlterAlias_FullMethodName, DbName: "d", CollectionName: "al"},
				{Op: pb.RootCoord_AlterAlias_FullMethodName, DbName: "d", CollectionName: "b"}}},
		{pb.RootCoord_DescribeAlias_FullMethodName, &pb.AliasRequest{Alias: "al"}, nil},
		{pb.RootCoord_RenameCollection_FullMethodName, &pb.RenameCollectionRequest{DbName: "d", OldName: "a", NewName: "b"},
			[]*pb.InvalidateCacheRequest{{Op: "RenameCollection", DbName: "d", CollectionName: "a"},
				{Op: "RenameCollection", DbName: "d", CollectionName: "b"}}},
		{pb.RootCoord_AlterDatabase_FullMethodName, &pb.AlterDatabaseRequest{Name: "d"},
			[]*pb.InvalidateCacheRequest{{Op: "AlterDatabase", DbName: "d", Database: true}}},
		{pb.RootCoord_ListDatabases_FullMethodName, &pb.ListDatabasesRequest{}, nil},
		{pb.QueryCoord_LoadCollection_FullMethodName, &pb.LoadRequest{Collection: coll},
			[]*pb.InvalidateCacheRequest{{Op: "LoadCollection", CollectionId: 5}}},
		{pb.QueryCoord_ReleaseCollection_FullMethodName, &pb.ReleaseRequest{CollectionId: 5},
			[]*pb.InvalidateCacheRequest{{Op: pb.QueryCoord_ReleaseCollection_FullMethodName, CollectionId: 5}}},
		{pb.QueryCoord_State_FullMethodName, &pb.LoadStateRequest{CollectionId: 5}, nil},
		{pb.IndexCoord_CreateIndex_FullMethodName, &pb.CreateIndexRequest{Collection: coll},
			[]*pb.InvalidateCacheRequest{{Op: "CreateIndex", CollectionId: 5}}},
		{pb.IndexCoord_Indexes_FullMethodName, &pb.IndexesRequest{CollectionId: 5}, nil},
		{pb.IndexCoord_DropCollection_FullMethodName, &pb.IndexesRequest{CollectionId: 5},
			[]*pb.InvalidateCacheRequest{{Op: "DropCollectionIndexes", CollectionId: 5}}},
		{pb.DataCoord_DropPartition_FullMethodName, &pb.DropPartitionDataRequest{CollectionId: 5}, nil},
		{pb.IndexFaults_IndexFileBad_FullMethodName, &pb.BadIndexFile{CollectionId: 5, BuildId: 9},
			[]*pb.InvalidateCacheRequest{{Op: "IndexFileBad", CollectionId: 5}}},
	} {
		got := invalidationsOf(tc.method, tc.req)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.method, got, tc.want)
			continue
		}
		for i := range got {
			if got[i].String() != tc.want[i].String() {
				t.Errorf("%s [%d]: %v, want %v", tc.method, i, got[i], tc.want[i])
			}
		}
	}
}
