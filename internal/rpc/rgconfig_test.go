package rpc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/rgpb"
)

// TestRGConfigOf: a request's resource group configuration converts with
// its missing requests / limits marked, and renders in errors as Milvus's
// %v of the rgpb message does (its compact protobuf text; protobuf-go
// spaces it at random, so spaces are compared as one).
func TestRGConfigOf(t *testing.T) {
	limit := func(n int32) *rgpb.ResourceGroupLimit { return &rgpb.ResourceGroupLimit{NodeNum: n} }
	for _, c := range []*rgpb.ResourceGroupConfig{
		{Requests: limit(1), Limits: limit(2)},
		{Requests: limit(0), Limits: limit(3)},
		{Limits: limit(1)},
		{Requests: limit(2)},
		{},
		{Requests: limit(1), Limits: limit(1),
			TransferFrom: []*rgpb.ResourceGroupTransfer{{ResourceGroup: "a"}, {ResourceGroup: "b"}},
			TransferTo:   []*rgpb.ResourceGroupTransfer{{ResourceGroup: "c"}},
			NodeFilter: &rgpb.ResourceGroupNodeFilter{NodeLabels: []*commonpb.KeyValuePair{
				{Key: "zone", Value: "x"}, {Key: "disk", Value: "ssd"}}}},
	} {
		got := rgConfigOf(c)
		if got.NoRequests != (c.GetRequests() == nil) || got.NoLimits != (c.GetLimits() == nil) {
			t.Errorf("%v: NoRequests %v, NoLimits %v", c, got.NoRequests, got.NoLimits)
		}
		if want := strings.Join(strings.Fields(fmt.Sprint(c)), " "); got.String() != want {
			t.Errorf("rendered %q, Milvus renders %q", got.String(), want)
		}
	}
	if got := rgConfigOf(nil); got.NoRequests || got.NoLimits || got.Requests != 0 || got.Limits != 0 {
		t.Errorf("no configuration: %+v, want Milvus's default 0/0", got)
	}
}
