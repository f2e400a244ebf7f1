package rest

import (
	"testing"

	"github.com/milvago/milvago/internal/auth"
)

// TestEveryEndpointHasAPrivilegeCheck: each REST endpoint maps to the gRPC
// request whose privilege it needs, so no endpoint escapes authorization.
func TestEveryEndpointHasAPrivilegeCheck(t *testing.T) {
	h := New(nil, nil)
	h.SetAuth(nil, nil)
	for path := range h.routes {
		mk, ok := grpcRequestFor[path]
		if !ok {
			t.Errorf("%s has no entry in grpcRequestFor", path)
			continue
		}
		b := &authBody{CollectionName: "c", UserName: "u", RoleName: "r"}
		req := mk(b)
		need, ok := auth.NeedOf(req)
		if ok && need.Object == "Collection" && need.Name != "c" && len(need.Names) == 0 {
			t.Errorf("%s: collection privilege %s without the body's collection name", path, need.Privilege)
		}
	}
	for path := range grpcRequestFor {
		if _, ok := h.routes[path]; !ok {
			t.Errorf("grpcRequestFor has %s, which is no endpoint", path)
		}
	}
}
