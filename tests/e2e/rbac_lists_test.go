package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestRBACRESTListsFilteredByGrants: REST collections/list and
// databases/list show a user without global privileges only what its
// grants name, as Milvus's root coordinator filters ShowCollections and
// ListDatabases, and answer exactly what the gRPC calls answer.
func TestRBACRESTListsFilteredByGrants(t *testing.T) {
	srv := startAuthServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const rootAuth = "Bearer root:Milvus"
	ok := func(path, body string) {
		t.Helper()
		if _, out := restCall(t, srv, "/v2/vectordb"+path, rootAuth, body); out["code"] != float64(0) {
			t.Fatalf("%s %s: %v", path, body, out)
		}
	}
	ok("/databases/create", `{"dbName":"shop"}`)
	for _, c := range []struct{ db, name string }{{"default", "docs"}, {"default", "notes"}, {"shop", "orders"}, {"shop", "items"}} {
		ok("/collections/create", `{"dbName":"`+c.db+`","collectionName":"`+c.name+`","dimension":4}`)
	}
	// dana: one collection (CollectionReadOnly on default.docs); erin: one
	// database (CollectionReadWrite on every collection of shop); frank:
	// a role with no grant at all.
	for _, u := range []struct{ user, role, grant string }{
		{"dana", "docs_reader", `{"roleName":"docs_reader","privilege":"CollectionReadOnly","dbName":"default","collectionName":"docs"}`},
		{"erin", "shop_writer", `{"roleName":"shop_writer","privilege":"CollectionReadWrite","dbName":"shop","collectionName":"*"}`},
		{"frank", "nothing", ""},
	} {
		ok("/users/create", `{"userName":"`+u.user+`","password":"`+u.user+`-pw"}`)
		ok("/roles/create", `{"roleName":"`+u.role+`"}`)
		ok("/users/grant_role", `{"userName":"`+u.user+`","roleName":"`+u.role+`"}`)
		if u.grant != "" {
			ok("/roles/grant_privilege_v2", u.grant)
		}
	}

	restList := func(user, path, db string) []string {
		t.Helper()
		body := `{}`
		if db != "" {
			body = `{"dbName":"` + db + `"}`
		}
		code, out := restCall(t, srv, "/v2/vectordb"+path, "Bearer "+user+":"+passwordOf(user), body)
		if code != 200 || out["code"] != float64(0) {
			t.Fatalf("%s %s as %s: HTTP %d %v", path, body, user, code, out)
		}
		names := []string{}
		for _, n := range out["data"].([]any) {
			names = append(names, n.(string))
		}
		slices.Sort(names)
		return names
	}
	grpcCollections := func(user, db string) []string {
		t.Helper()
		c, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: srv.addr, Username: user, Password: passwordOf(user), DBName: db})
		if err != nil {
			t.Fatalf("connect %s to %s: %v", user, db, err)
		}
		defer c.Close(context.Background())
		names, err := c.ListCollections(ctx, milvusclient.NewListCollectionOption())
		if err != nil {
			t.Fatalf("ListCollections as %s in %s: %v", user, db, err)
		}
		names = append([]string{}, names...)
		slices.Sort(names)
		return names
	}
	grpcDatabases := func(user string) []string {
		t.Helper()
		c, err := srv.userClient(t, user, passwordOf(user))
		if err != nil {
			t.Fatalf("connect %s: %v", user, err)
		}
		dbs, err := c.ListDatabase(ctx, milvusclient.NewListDatabaseOption())
		if err != nil {
			t.Fatalf("ListDatabases as %s: %v", user, err)
		}
		dbs = append([]string{}, dbs...)
		slices.Sort(dbs)
		return dbs
	}

	for _, want := range []struct {
		user          string
		dbs           []string
		defaultColls  []string
		shopColls     []string
		connectToShop bool // whether the SDK may connect to shop (Connect checks the database)
	}{
		{"root", []string{"default", "shop"}, []string{"docs", "notes"}, []string{"items", "orders"}, true},
		{"dana", []string{"default"}, []string{"docs"}, []string{}, false},
		{"erin", []string{"shop"}, []string{}, []string{"items", "orders"}, true},
		{"frank", []string{}, []string{}, []string{}, false},
	} {
		if got := restList(want.user, "/databases/list", ""); !slices.Equal(got, want.dbs) {
			t.Errorf("REST databases/list as %s: %v, want %v", want.user, got, want.dbs)
		}
		if got := grpcDatabases(want.user); !slices.Equal(got, want.dbs) {
			t.Errorf("gRPC ListDatabases as %s: %v, want %v", want.user, got, want.dbs)
		}
		if got := restList(want.user, "/collections/list", ""); !slices.Equal(got, want.defaultColls) {
			t.Errorf("REST collections/list as %s in default: %v, want %v", want.user, got, want.defaultColls)
		}
		if got := grpcCollections(want.user, "default"); !slices.Equal(got, want.defaultColls) {
			t.Errorf("gRPC ListCollections as %s in default: %v, want %v", want.user, got, want.defaultColls)
		}
		if got := restList(want.user, "/collections/list", "shop"); !slices.Equal(got, want.shopColls) {
			t.Errorf("REST collections/list as %s in shop: %v, want %v", want.user, got, want.shopColls)
		}
		if want.connectToShop {
			if got := grpcCollections(want.user, "shop"); !slices.Equal(got, want.shopColls) {
				t.Errorf("gRPC ListCollections as %s in shop: %v, want %v", want.user, got, want.shopColls)
			}
		}
	}

	// A grant made later is listed at once, over both APIs.
	ok("/roles/grant_privilege_v2", `{"roleName":"docs_reader","privilege":"CollectionReadOnly","dbName":"shop","collectionName":"items"}`)
	if got := restList("dana", "/databases/list", ""); !slices.Equal(got, []string{"default", "shop"}) {
		t.Errorf("REST databases/list as dana after a grant in shop: %v", got)
	}
	if got := restList("dana", "/collections/list", "shop"); !slices.Equal(got, []string{"items"}) {
		t.Errorf("REST collections/list as dana in shop after the grant: %v", got)
	}
	if got := grpcCollections("dana", "shop"); !slices.Equal(got, []string{"items"}) {
		t.Errorf("gRPC ListCollections as dana in shop after the grant: %v", got)
	}
}

// passwordOf is the password TestRBACRESTListsFilteredByGrants gives user.
func passwordOf(user string) string {
	if user == "root" {
		return "Milvus"
	}
	return user + "-pw"
}
