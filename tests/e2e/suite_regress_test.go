package e2e

import (
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
)

// Regressions found by running Milvus 2.6's Go and Node SDK suites against
// Milvago (docs/compatibility.md).

// TestLoadBalanceUnknownCollection: Milvus's LoadBalance resolves its
// collection through the meta cache, without the DDL name checks, so a
// request without a collection name answers "collection not found"
// (error_code CollectionNotExists; the Node SDK's Data.spec checks it),
// not an invalid name.
func TestLoadBalanceUnknownCollection(t *testing.T) {
	srv := startServer(t, "")
	raw := rawClient(t, srv)
	ctx := testContext(t)
	for _, name := range []string{"", "absent"} {
		st, err := raw.LoadBalance(ctx, &milvuspb.LoadBalanceRequest{SrcNodeID: 1, CollectionName: name})
		if err != nil {
			t.Fatal(err)
		}
		if st.GetCode() != 100 || st.GetErrorCode() != commonpb.ErrorCode_CollectionNotExists {
			t.Fatalf("LoadBalance of %q: %v", name, st)
		}
	}
}
