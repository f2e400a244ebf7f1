package rbac

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/milvago/milvago/internal/kv"
)

func openTest(t *testing.T, store kv.Store) *Store {
	t.Helper()
	bcryptCost = bcrypt.MinCost
	s, err := Open(context.Background(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap(context.Background(), "Milvus"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAllowed(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, kv.NewMemory())
	if err := s.CreateRole(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	grant := func(g Grant) {
		t.Helper()
		g.Role = "r"
		if err := s.PutGrant(ctx, g, true); err != nil {
			t.Fatal(err)
		}
	}
	grant(Grant{Object: ObjectCollection, DB: "default", ObjectName: "c1", Privilege: "Search"})
	grant(Grant{Object: ObjectGlobal, DB: "db2", ObjectName: "c2", Privilege: "CollectionReadOnly"})
	grant(Grant{Object: ObjectGlobal, DB: Any, ObjectName: Any, Privilege: "ClusterReadOnly"})
	grant(Grant{Object: ObjectCollection, DB: "db3", ObjectName: Any, Privilege: Any})
	if err := s.CreateGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGroup(ctx, "g", []string{"Insert"}); err != nil {
		t.Fatal(err)
	}
	grant(Grant{Object: ObjectGlobal, DB: "default", ObjectName: "c4", Privilege: "g"})
	cases := []struct {
		roles []string
		req   Request
		want  bool
	}{
		{[]string{"r"}, Request{ObjectCollection, "Search", "default", "c1"}, true},
		{[]string{"r"}, Request{ObjectCollection, "Search", "", "c1"}, true}, // "" is default
		{[]string{"r"}, Request{ObjectCollection, "Search", "default", "c9"}, false},
		{[]string{"r"}, Request{ObjectCollection, "Search", "db2", "c1"}, false},
		{[]string{"r"}, Request{ObjectCollection, "Query", "default", "c1"}, false},
		{[]string{"r"}, Request{ObjectCollection, "Query", "db2", "c2"}, true},
		{[]string{"r"}, Request{ObjectCollection, "Insert", "db2", "c2"}, false},
		{[]string{"r"}, Request{ObjectGlobal, "ListDatabases", "any", Any}, true},
		{[]string{"r"}, Request{ObjectGlobal, "CreateDatabase", "any", Any}, false},
		{[]string{"r"}, Request{ObjectCollection, "Delete", "db3", "x"}, true},
		{[]string{"r"}, Request{ObjectGlobal, "CreateCollection", "db3", Any}, false}, // * is per object type
		{[]string{"r"}, Request{ObjectCollection, "Insert", "default", "c4"}, true},   // custom group
		{[]string{"r"}, Request{ObjectCollection, "Insert", "default", "c5"}, false},
		{nil, Request{ObjectGlobal, "DescribeCollection", "x", Any}, true}, // public's grants
		{nil, Request{ObjectCollection, "IndexDetail", "x", "y"}, true},
		{nil, Request{ObjectCollection, "Search", "default", "c1"}, false},
		{[]string{RoleAdmin}, Request{ObjectGlobal, "DropDatabase", "x", Any}, true},
	}
	for _, c := range cases {
		if got := s.Allowed(c.roles, c.req); got != c.want {
			t.Errorf("Allowed(%v, %+v) = %v, want %v", c.roles, c.req, got, c.want)
		}
	}
}

func TestAuthenticateAndPasswordChange(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, kv.NewMemory())
	if !s.Authenticate("root", "Milvus") || s.Authenticate("root", "milvus") || s.Authenticate("nobody", "Milvus") {
		t.Fatal("root's default password")
	}
	if err := s.UpdatePassword(ctx, "root", "changed1"); err != nil {
		t.Fatal(err)
	}
	if s.Authenticate("root", "Milvus") || !s.Authenticate("root", "changed1") {
		t.Fatal("password change")
	}
	// A second bootstrap (restart) keeps the changed password.
	if err := s.Bootstrap(ctx, "Milvus"); err != nil {
		t.Fatal(err)
	}
	if !s.Authenticate("root", "changed1") {
		t.Fatal("restart reset root's password")
	}
}

// TestWatchSeesOtherWriters: two stores over one meta store, as two
// proxies; a change through one reaches the other by Run's watch.
func TestWatchSeesOtherWriters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mem := kv.NewMemory()
	a, b := openTest(t, mem), openTest(t, mem)
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	if err := a.CreateUser(ctx, "u1", "password1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !b.Authenticate("u1", "password1") {
		if time.Now().After(deadline) {
			t.Fatal("b never saw the user a created")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.DeleteUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for b.Authenticate("u1", "password1") {
		if time.Now().After(deadline) {
			t.Fatal("b still accepts a deleted user")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{ValidatePassword("12345"), "invalid password length: invalid parameter[5 out of range 6 <= value <= 72]"},
		{ValidateUsername(""), "username must be not empty: invalid parameter"},
		{ValidateUsername("a b"), "username must contain only numbers, letters, underscores, dots, and hyphens, but got  "},
		{ValidateRoleName("1r"), "the first character of role name must be an underscore or letter"},
		{ValidatePrivilegeGroupName(""), "privilege group name should not be empty: invalid privilege group name"},
	} {
		if c.err == nil || !contains(c.err.Error(), c.want) {
			t.Errorf("err = %v, want %q", c.err, c.want)
		}
	}
	if ValidateUsername("a.b-c_1") != nil || ValidatePassword("123456") != nil || ValidateObjectName("*") != nil {
		t.Error("valid names refused")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestVisible(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, kv.NewMemory())
	if err := s.CreateUser(ctx, "u", "password1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRole(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.BindRole(ctx, "u", "r", true); err != nil {
		t.Fatal(err)
	}
	for _, g := range []Grant{
		{Role: "r", Object: ObjectCollection, DB: "default", ObjectName: "c1", Privilege: "Search"},
		{Role: "r", Object: ObjectGlobal, DB: "db2", ObjectName: "c2", Privilege: "CollectionReadOnly"},
		{Role: "r", Object: ObjectGlobal, DB: "db2", ObjectName: Any, Privilege: "CreateCollection"},
	} {
		if err := s.PutGrant(ctx, g, true); err != nil {
			t.Fatal(err)
		}
	}
	if names, all := s.Visible("u", "default"); all || len(names) != 1 || !names["c1"] {
		t.Errorf("collections in default: %v %v", names, all)
	}
	if names, all := s.Visible("u", "db2"); all || len(names) != 1 || !names["c2"] {
		t.Errorf("collections in db2: %v %v", names, all)
	}
	if names, all := s.Visible("u", ""); all || len(names) != 2 || !names["default"] || !names["db2"] {
		t.Errorf("databases: %v %v", names, all)
	}
	if _, all := s.Visible("root", "default"); !all {
		t.Error("root sees all")
	}
}
