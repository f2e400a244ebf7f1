package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/rbac"
)

func TestNeedOf(t *testing.T) {
	for _, c := range []struct {
		req                     any
		object, privilege, name string
		names                   []string
		ok                      bool
	}{
		{&milvuspb.LoadCollectionRequest{CollectionName: "c"}, "Collection", "PrivilegeLoad", "c", nil, true},
		{&milvuspb.CreateCollectionRequest{CollectionName: "c"}, "Global", "PrivilegeCreateCollection", "*", nil, true},
		{&milvuspb.SelectUserRequest{User: &milvuspb.UserEntity{Name: "u"}}, "User", "PrivilegeSelectUser", "u", nil, true},
		{&milvuspb.FlushRequest{CollectionNames: []string{"a", "b"}}, "Collection", "PrivilegeFlush", "*", []string{"a", "b"}, true},
		{&milvuspb.HasCollectionRequest{}, "", "", "", nil, false},
		{"not a message", "", "", "", nil, false},
	} {
		n, ok := NeedOf(c.req)
		if ok != c.ok || n.Object != c.object || n.Privilege != c.privilege || (ok && n.Name != c.name) || len(n.Names) != len(c.names) {
			t.Errorf("NeedOf(%T) = %+v, %v", c.req, n, ok)
		}
	}
}

func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	store, err := rbac.Open(ctx, kv.NewMemory(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Bootstrap(ctx, "Milvus"); err != nil {
		t.Fatal(err)
	}
	g := New(store, true, nil)
	if err := g.Authorize(ctx, "root", "", &milvuspb.DropDatabaseRequest{}); err != nil {
		t.Fatalf("root refused: %v", err)
	}
	err = g.Authorize(ctx, "alice", "db1", &milvuspb.LoadCollectionRequest{CollectionName: "c"})
	if err == nil || !strings.Contains(err.Error(), "PrivilegeLoad: permission deny to alice in the `db1` database") {
		t.Fatalf("alice load: %v", err)
	}
	// Users may read and update themselves.
	if err := g.Authorize(ctx, "alice", "", &milvuspb.UpdateCredentialRequest{Username: "alice"}); err != nil {
		t.Fatalf("alice updates herself: %v", err)
	}
	if err := g.Authorize(ctx, "alice", "", &milvuspb.UpdateCredentialRequest{Username: "root"}); err == nil {
		t.Fatal("alice updates root")
	}
	// Disabled: everything passes.
	if err := New(store, false, nil).Authorize(ctx, "alice", "", &milvuspb.DropDatabaseRequest{}); err != nil {
		t.Fatalf("disabled guard: %v", err)
	}
	if _, err := g.Verify("root:Milvus"); err != nil {
		t.Fatalf("verify root: %v", err)
	}
	if _, err := g.Verify("root"); err == nil || !strings.Contains(err.Error(), "api key") {
		t.Fatalf("verify token without colon: %v", err)
	}
}
