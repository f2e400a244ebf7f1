package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/app"
	"github.com/milvago/milvago/internal/rbac"
)

func authContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestLimits2SuperUsers: a user in common.security.superUsers changes
// another user's password without the old one (Milvus's UpdateCredential);
// a user with the same role but not listed must give it. Super users are
// not exempt from privileges.
func TestLimits2SuperUsers(t *testing.T) {
	srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Auth = app.AuthConfig{Enabled: true, RootPassword: "Milvus", Options: rbac.Options{SuperUsers: []string{"ops"}}}
	})
	ctx := authContext(t)
	root, err := srv.userClient(t, "root", "Milvus")
	must(t, err)
	for _, u := range []string{"ops", "adm", "alice"} {
		must(t, root.CreateUser(ctx, milvusclient.NewCreateUserOption(u, u+"-password")))
	}
	must(t, root.GrantRole(ctx, milvusclient.NewGrantRoleOption("ops", "admin")))
	must(t, root.GrantRole(ctx, milvusclient.NewGrantRoleOption("adm", "admin")))
	ops, err := srv.userClient(t, "ops", "ops-password")
	must(t, err)
	adm, err := srv.userClient(t, "adm", "adm-password")
	must(t, err)

	err = adm.UpdatePassword(ctx, milvusclient.NewUpdatePasswordOption("alice", "not-the-old-one", "alice-new-1"))
	if err == nil || !strings.Contains(err.Error(), "old password not correct for alice") {
		t.Fatalf("an admin not in superUsers changed a password without the old one: %v", err)
	}
	must(t, ops.UpdatePassword(ctx, milvusclient.NewUpdatePasswordOption("alice", "not-the-old-one", "alice-new-1")))
	if _, err := srv.userClient(t, "alice", "alice-new-1"); err != nil {
		t.Fatalf("alice with the password a super user set: %v", err)
	}

	// A super user without a role that allows it is refused like anyone.
	srv2 := startServerWith(t, "", func(c *app.StandaloneConfig) {
		c.Auth = app.AuthConfig{Enabled: true, RootPassword: "Milvus", Options: rbac.Options{SuperUsers: []string{"bare"}}}
	})
	root2, err := srv2.userClient(t, "root", "Milvus")
	must(t, err)
	must(t, root2.CreateUser(ctx, milvusclient.NewCreateUserOption("bare", "bare-password")))
	bare, err := srv2.userClient(t, "bare", "bare-password")
	must(t, err)
	err = bare.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("x", 4))
	if !isPermissionDenied(err) {
		t.Fatalf("a super user without grants created a collection: %v", err)
	}
}

// TestLimits2RootShouldBindRole: with common.security.rootShouldBindRole
// root is checked against the roles bound to it, like any user; without
// it root may do anything whatever its roles.
func TestLimits2RootShouldBindRole(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, func(c *app.StandaloneConfig) { c.Auth = app.AuthConfig{Enabled: true, RootPassword: "Milvus"} })
	ctx := authContext(t)
	root, err := srv.userClient(t, "root", "Milvus")
	must(t, err)
	must(t, root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("docs", 4).WithAutoID(false)))
	must(t, root.CreateRole(ctx, milvusclient.NewCreateRoleOption("reader")))
	must(t, root.GrantV2(ctx, milvusclient.NewGrantV2Option("reader", "CollectionReadOnly", "default", "docs")))
	must(t, root.GrantRole(ctx, milvusclient.NewGrantRoleOption("root", "reader")))
	// Bound to a read-only role, root still may do anything.
	must(t, root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("more", 4)))
	root.Close(ctx)
	srv.stop()

	srv = startServerWith(t, dir, func(c *app.StandaloneConfig) {
		c.Auth = app.AuthConfig{Enabled: true, RootPassword: "Milvus", Options: rbac.Options{RootShouldBindRole: true}}
	})
	root, err = srv.userClient(t, "root", "Milvus")
	must(t, err)
	if _, err := root.Query(ctx, milvusclient.NewQueryOption("docs").WithFilter("id >= 0").WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong)); err != nil && !strings.Contains(err.Error(), "not loaded") {
		t.Fatalf("root querying through its read-only role: %v", err)
	}
	err = root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("denied", 4))
	if !isPermissionDenied(err) || !strings.Contains(err.Error(), "PrivilegeCreateCollection: permission deny to root in the `default` database") {
		t.Fatalf("root without a role allowing it created a collection: %v", err)
	}
	err = root.DropCollection(ctx, milvusclient.NewDropCollectionOption("more"))
	if !isPermissionDenied(err) {
		t.Fatalf("root without a role allowing it dropped a collection: %v", err)
	}
	// Root sees only the collections its roles name.
	names, err := root.ListCollections(ctx, milvusclient.NewListCollectionOption())
	must(t, err)
	if len(names) != 1 || names[0] != "docs" {
		t.Fatalf("root with rootShouldBindRole lists %v, want [docs]", names)
	}
}

// TestLimits2NoPublicPrivilege: with common.security.enablePublicPrivilege
// false a user without grants may not describe a collection (the public
// role's built-in DescribeCollection grant is not made).
func TestLimits2NoPublicPrivilege(t *testing.T) {
	for _, public := range []bool{true, false} {
		srv := startServerWith(t, "", func(c *app.StandaloneConfig) {
			c.Auth = app.AuthConfig{Enabled: true, RootPassword: "Milvus", Options: rbac.Options{NoPublicPrivilege: !public}}
		})
		ctx := authContext(t)
		root, err := srv.userClient(t, "root", "Milvus")
		must(t, err)
		must(t, root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("c", 4)))
		must(t, root.CreateUser(ctx, milvusclient.NewCreateUserOption("u", "u-password")))
		u, err := srv.userClient(t, "u", "u-password")
		must(t, err)
		_, err = u.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("c"))
		if public && err != nil {
			t.Fatalf("describe with the public privileges: %v", err)
		}
		if !public && !isPermissionDenied(err) {
			t.Fatalf("describe without the public privileges: %v", err)
		}
		srv.stop()
	}
}
