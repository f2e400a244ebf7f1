package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/milvago/milvago/internal/app"
)

// startAuthServer runs a standalone server with authorization enabled.
func startAuthServer(t *testing.T) *server {
	t.Helper()
	return startServerWith(t, "", func(c *app.StandaloneConfig) { c.Auth = app.AuthConfig{Enabled: true, RootPassword: "Milvus"} })
}

// userClient connects the SDK as user.
func (s *server) userClient(t *testing.T, user, password string) (*milvusclient.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := milvusclient.New(ctx, &milvusclient.ClientConfig{Address: s.addr, Username: user, Password: password})
	if err == nil {
		t.Cleanup(func() { c.Close(context.Background()) })
	}
	return c, err
}

func isPermissionDenied(err error) bool {
	return grpcstatus.Code(err) == codes.PermissionDenied || (err != nil && strings.Contains(err.Error(), "permission deny to"))
}

func TestAuthRefusesMissingAndWrongCredentials(t *testing.T) {
	srv := startAuthServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := srv.userClient(t, "", ""); err == nil || !strings.Contains(err.Error(), "missing authorization in header") {
		t.Fatalf("no credentials: err = %v, want missing authorization", err)
	}
	if _, err := srv.userClient(t, "root", "wrong-password"); err == nil || !strings.Contains(err.Error(), "auth check failure, please check username and password are correct") {
		t.Fatalf("wrong password: err = %v", err)
	}
	if _, err := srv.userClient(t, "nobody", "Milvus"); err == nil {
		t.Fatal("unknown user connected")
	}
	root, err := srv.userClient(t, "root", "Milvus")
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	if _, err := root.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil {
		t.Fatalf("root list collections: %v", err)
	}

	// Every method refuses a call without credentials, not only Connect.
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, m := range milvusMethods(t) {
		in, out := newMessage(t, m.Input()), newMessage(t, m.Output())
		err := conn.Invoke(ctx, "/milvus.proto.milvus.MilvusService/"+string(m.Name()), in, out)
		if grpcstatus.Code(err) != codes.Unauthenticated {
			t.Errorf("%s without credentials: err = %v, want Unauthenticated", m.Name(), err)
		}
		// A wrong password costs a bcrypt comparison (slow under -race):
		// a sample of methods.
		if !slices.Contains([]string{"Connect", "Search", "Insert", "CreateCredential", "DropCollection", "ListDatabases"}, string(m.Name())) {
			continue
		}
		bad := metadata.AppendToOutgoingContext(ctx, "authorization", base64.StdEncoding.EncodeToString([]byte("root:nope")))
		if err := conn.Invoke(bad, "/milvus.proto.milvus.MilvusService/"+string(m.Name()), in, out); grpcstatus.Code(err) != codes.Unauthenticated {
			t.Errorf("%s with a wrong password: err = %v, want Unauthenticated", m.Name(), err)
		}
	}

	// REST: 401 with code 1800 without or with wrong credentials.
	for _, auth := range []string{"", "Bearer root:nope", "Bearer root", "Bearer nobody:Milvus"} {
		code, body := restCall(t, srv, "/v2/vectordb/collections/list", auth, `{}`)
		if code != http.StatusUnauthorized || body["code"] != float64(1800) || body["message"] != "user hasn't authenticated" {
			t.Errorf("REST with %q: HTTP %d %v, want 401 code 1800", auth, code, body)
		}
	}
	if code, body := restCall(t, srv, "/v2/vectordb/collections/list", "Bearer root:Milvus", `{}`); code != http.StatusOK || body["code"] != float64(0) {
		t.Errorf("REST as root: HTTP %d %v", code, body)
	}
}

func restCall(t *testing.T, srv *server, path, authorization, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.addr+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	return resp.StatusCode, out
}

func milvusMethods(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	fd, err := protoregistry.GlobalFiles.FindFileByPath("milvus.proto")
	if err != nil {
		t.Fatal(err)
	}
	svc := fd.Services().ByName("MilvusService")
	var out []protoreflect.MethodDescriptor
	for i := 0; i < svc.Methods().Len(); i++ {
		m := svc.Methods().Get(i)
		if m.IsStreamingClient() || m.IsStreamingServer() {
			continue
		}
		out = append(out, m)
	}
	return out
}

func newMessage(t *testing.T, d protoreflect.MessageDescriptor) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(d.FullName())
	if err != nil {
		t.Fatal(err)
	}
	return mt.New().Interface()
}

// privilegeOf reads a method's privilege_ext_obj (Milvus's table).
func privilegeOf(d protoreflect.MessageDescriptor) (*commonpb.PrivilegeExt, bool) {
	if !proto.HasExtension(d.Options(), commonpb.E_PrivilegeExtObj) {
		return nil, false
	}
	return proto.GetExtension(d.Options(), commonpb.E_PrivilegeExtObj).(*commonpb.PrivilegeExt), true
}

// setObjectName fills the field the privilege table names with name.
func setObjectName(msg proto.Message, ext *commonpb.PrivilegeExt, name string) {
	r := msg.ProtoReflect()
	if i := ext.GetObjectNameIndex(); i > 0 {
		fd := r.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(i))
		if fd.Kind() == protoreflect.MessageKind {
			sub := r.Mutable(fd).Message()
			sub.Set(sub.Descriptor().Fields().ByNumber(1), protoreflect.ValueOfString(name))
		} else {
			r.Set(fd, protoreflect.ValueOfString(name))
		}
	}
	if i := ext.GetObjectNameIndexs(); i > 0 {
		fd := r.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(i))
		r.Mutable(fd).List().Append(protoreflect.ValueOfString(name))
	}
}

// TestRBACEachPrivilegeAllowsExactlyItsMethods grants a role one privilege
// at a time (every privilege of Milvus's method table) and calls every
// method of MilvusService as a user with that role: exactly the methods
// the table maps to that privilege (and its related ones: Load brings
// GetLoadState) are let through; every other method with a privilege is
// refused with PermissionDenied. Root, finally, may call everything.
func TestRBACEachPrivilegeAllowsExactlyItsMethods(t *testing.T) {
	srv := startAuthServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := srv.userClient(t, "root", "Milvus")
	if err != nil {
		t.Fatal(err)
	}
	const coll = "rbac_c"
	if err := root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(coll, 4)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "other"} {
		if err := root.CreateUser(ctx, milvusclient.NewCreateUserOption(u, "password1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.CreateRole(ctx, milvusclient.NewCreateRoleOption("r1")); err != nil {
		t.Fatal(err)
	}
	if err := root.GrantRole(ctx, milvusclient.NewGrantRoleOption("alice", "r1")); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	as := func(user, password string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", base64.StdEncoding.EncodeToString([]byte(user+":"+password)), "dbname", "default")
	}
	alice := as("alice", "password1")

	type method struct {
		name string
		desc protoreflect.MethodDescriptor
		ext  *commonpb.PrivilegeExt
	}
	var checked []method
	privileges := map[string]commonpb.ObjectType{}
	for _, m := range milvusMethods(t) {
		ext, ok := privilegeOf(m.Input())
		if !ok {
			continue
		}
		checked = append(checked, method{string(m.Name()), m, ext})
		privileges[ext.GetObjectPrivilege().String()] = ext.GetObjectType()
	}
	names := make([]string, 0, len(privileges))
	for p := range privileges {
		names = append(names, p)
	}
	slices.Sort(names)
	related := map[string][]string{"PrivilegeLoad": {"PrivilegeGetLoadState", "PrivilegeGetLoadingProgress"}, "PrivilegeFlush": {"PrivilegeGetFlushState"}}
	objectName := func(t commonpb.ObjectType) string {
		switch t {
		case commonpb.ObjectType_Collection:
			return coll
		case commonpb.ObjectType_User:
			return "other"
		}
		return "*"
	}
	call := func(ctx context.Context, m method) error {
		in, out := newMessage(t, m.desc.Input()), newMessage(t, m.desc.Output())
		setObjectName(in, m.ext, objectName(m.ext.GetObjectType()))
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		defer ccancel()
		return conn.Invoke(cctx, "/milvus.proto.milvus.MilvusService/"+m.name, in, out)
	}
	for _, priv := range names {
		api := strings.TrimPrefix(priv, "Privilege")
		grant := milvusclient.NewGrantV2Option("r1", api, "default", objectName(privileges[priv]))
		if privileges[priv] != commonpb.ObjectType_Collection {
			grant = milvusclient.NewGrantV2Option("r1", api, "*", "*")
		}
		if err := root.GrantV2(ctx, grant); err != nil {
			t.Fatalf("grant %s: %v", api, err)
		}
		// public's built-in grants (Milvus's enablePublicPrivilege).
		allowed := append([]string{priv, "PrivilegeDescribeCollection", "PrivilegeListAliases", "PrivilegeIndexDetail"}, related[priv]...)
		for _, m := range checked {
			if m.name == "DropCollection" || m.name == "TruncateCollection" || m.name == "DeleteCredential" || m.name == "RestoreRBAC" || m.name == "DropRole" {
				// These take their object from fields the table does not
				// name; an allowed call must not destroy the fixture.
				if slices.Contains(allowed, m.ext.GetObjectPrivilege().String()) {
					continue
				}
			}
			err := call(alice, m)
			want := slices.Contains(allowed, m.ext.GetObjectPrivilege().String())
			if want && isPermissionDenied(err) {
				t.Errorf("granted %s: %s refused: %v", api, m.name, err)
			}
			if !want && !isPermissionDenied(err) {
				t.Errorf("granted %s: %s (needs %s) not refused: err = %v", api, m.name, m.ext.GetObjectPrivilege(), err)
			}
			if !want && err != nil && !strings.Contains(err.Error(), m.ext.GetObjectPrivilege().String()+": permission deny to alice in the `default` database") {
				t.Errorf("%s refusal text: %v", m.name, err)
			}
		}
		revoke := milvusclient.NewRevokeV2Option("r1", api, "default", objectName(privileges[priv]))
		if privileges[priv] != commonpb.ObjectType_Collection {
			revoke = milvusclient.NewRevokeV2Option("r1", api, "*", "*")
		}
		if err := root.RevokeV2(ctx, revoke); err != nil {
			t.Fatalf("revoke %s: %v", api, err)
		}
	}
	// Methods outside the table need no privilege.
	for _, m := range milvusMethods(t) {
		if _, ok := privilegeOf(m.Input()); ok {
			continue
		}
		in, out := newMessage(t, m.Input()), newMessage(t, m.Output())
		if err := conn.Invoke(alice, "/milvus.proto.milvus.MilvusService/"+string(m.Name()), in, out); isPermissionDenied(err) {
			t.Errorf("%s needs no privilege but was refused: %v", m.Name(), err)
		}
	}
	// Root is never refused.
	rootCtx := as("root", "Milvus")
	for _, m := range checked {
		if m.name == "DropCollection" || m.name == "TruncateCollection" || m.name == "DeleteCredential" || m.name == "DropRole" || m.name == "RestoreRBAC" {
			continue
		}
		if err := call(rootCtx, m); isPermissionDenied(err) {
			t.Errorf("root refused %s: %v", m.name, err)
		}
	}
}

// TestRBACSDKUserFlow is what an operator does with the SDK: a read-only
// user on one collection may search and query it, not write it, not touch
// another collection; v1 grants, revokes and the admin role work; users
// manage their own password.
func TestRBACSDKUserFlow(t *testing.T) {
	srv := startAuthServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := srv.userClient(t, "root", "Milvus")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docs", "secret"} {
		if err := root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions(name, 4).WithAutoID(false).WithIndexOptions(
			milvusclient.NewCreateIndexOption(name, "vector", index.NewFlatIndex(entity.L2)))); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1, 2}).
			WithFloatVectorColumn("vector", 4, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}})); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.CreateUser(ctx, milvusclient.NewCreateUserOption("reader", "reader-pw")); err != nil {
		t.Fatal(err)
	}
	if err := root.CreateRole(ctx, milvusclient.NewCreateRoleOption("ro")); err != nil {
		t.Fatal(err)
	}
	if err := root.GrantRole(ctx, milvusclient.NewGrantRoleOption("reader", "ro")); err != nil {
		t.Fatal(err)
	}
	if err := root.GrantV2(ctx, milvusclient.NewGrantV2Option("ro", "CollectionReadOnly", "default", "docs")); err != nil {
		t.Fatal(err)
	}
	reader, err := srv.userClient(t, "reader", "reader-pw")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := reader.Query(ctx, milvusclient.NewQueryOption("docs").WithFilter("id > 0").WithOutputFields("id").
		WithConsistencyLevel(entity.ClStrong))
	if err != nil {
		t.Fatalf("reader query docs: %v", err)
	}
	if rs.ResultCount != 2 {
		t.Fatalf("reader query: %d rows, want 2", rs.ResultCount)
	}
	if _, err := reader.Search(ctx, milvusclient.NewSearchOption("docs", 1, []entity.Vector{entity.FloatVector{1, 0, 0, 0}})); err != nil {
		t.Fatalf("reader search docs: %v", err)
	}
	_, err = reader.Insert(ctx, milvusclient.NewColumnBasedInsertOption("docs").WithInt64Column("id", []int64{3}).
		WithFloatVectorColumn("vector", 4, [][]float32{{0, 0, 1, 0}}))
	if !isPermissionDenied(err) || !strings.Contains(err.Error(), "PrivilegeInsert: permission deny to reader in the `default` database") {
		t.Fatalf("reader insert: err = %v, want PrivilegeInsert permission deny", err)
	}
	if _, err := reader.Query(ctx, milvusclient.NewQueryOption("secret").WithFilter("id > 0")); !isPermissionDenied(err) {
		t.Fatalf("reader query secret: err = %v, want permission deny", err)
	}
	// ShowCollections lists only what the user has grants on (root: all).
	if names, err := reader.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil || !slices.Equal(names, []string{"docs"}) {
		t.Fatalf("reader's collections: %v, %v", names, err)
	}
	if names, err := root.ListCollections(ctx, milvusclient.NewListCollectionOption()); err != nil || len(names) != 2 {
		t.Fatalf("root's collections: %v, %v", names, err)
	}
	if dbs, err := reader.ListDatabase(ctx, milvusclient.NewListDatabaseOption()); err != nil || !slices.Equal(dbs, []string{"default"}) {
		t.Fatalf("reader's databases: %v, %v", dbs, err)
	}
	if err := reader.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("mine", 4)); !isPermissionDenied(err) {
		t.Fatalf("reader create collection: err = %v", err)
	}
	// SelectGrant of one's own role needs no grant (the SDK's DescribeRole
	// also calls SelectRole, which needs SelectOwnership, as in Milvus).
	if _, err := reader.DescribeRole(ctx, milvusclient.NewDescribeRoleOption("ro")); !isPermissionDenied(err) {
		t.Fatalf("reader DescribeRole: err = %v, want PrivilegeSelectOwnership denied", err)
	}
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	readerCtx := metadata.AppendToOutgoingContext(ctx, "authorization", base64.StdEncoding.EncodeToString([]byte("reader:reader-pw")))
	grants, err := milvuspb.NewMilvusServiceClient(conn).SelectGrant(readerCtx, &milvuspb.SelectGrantRequest{Entity: &milvuspb.GrantEntity{Role: &milvuspb.RoleEntity{Name: "ro"}}})
	if err != nil || grants.GetStatus().GetCode() != 0 {
		t.Fatalf("reader lists its role's grants: %v %v", err, grants.GetStatus())
	}
	if g := grants.GetEntities(); len(g) != 1 || g[0].GetGrantor().GetPrivilege().GetName() != "CollectionReadOnly" || g[0].GetObjectName() != "docs" {
		t.Fatalf("grants of ro: %v", g)
	}
	if _, err := milvuspb.NewMilvusServiceClient(conn).SelectGrant(readerCtx, &milvuspb.SelectGrantRequest{Entity: &milvuspb.GrantEntity{Role: &milvuspb.RoleEntity{Name: "admin"}}}); !isPermissionDenied(err) {
		t.Fatalf("reader lists admin's grants: %v", err)
	}

	// v1: grant Insert on docs, then the insert works; revoke, refused again.
	if err := root.GrantPrivilege(ctx, milvusclient.NewGrantPrivilegeOption("ro", "Collection", "Insert", "docs")); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Insert(ctx, milvusclient.NewColumnBasedInsertOption("docs").WithInt64Column("id", []int64{3}).
		WithFloatVectorColumn("vector", 4, [][]float32{{0, 0, 1, 0}})); err != nil {
		t.Fatalf("insert after grant: %v", err)
	}
	if err := root.RevokePrivilege(ctx, milvusclient.NewRevokePrivilegeOption("ro", "Collection", "Insert", "docs")); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Insert(ctx, milvusclient.NewColumnBasedInsertOption("docs").WithInt64Column("id", []int64{4}).
		WithFloatVectorColumn("vector", 4, [][]float32{{0, 0, 1, 0}})); !isPermissionDenied(err) {
		t.Fatalf("insert after revoke: %v", err)
	}
	// The admin role may do everything.
	if err := root.GrantRole(ctx, milvusclient.NewGrantRoleOption("reader", "admin")); err != nil {
		t.Fatal(err)
	}
	if err := reader.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("mine", 4)); err != nil {
		t.Fatalf("admin create collection: %v", err)
	}
	if err := root.RevokeRole(ctx, milvusclient.NewRevokeRoleOption("reader", "admin")); err != nil {
		t.Fatal(err)
	}
	// A user changes its own password without any grant; the old one stops working.
	if err := reader.UpdatePassword(ctx, milvusclient.NewUpdatePasswordOption("reader", "reader-pw", "reader-pw2")); err != nil {
		t.Fatalf("update own password: %v", err)
	}
	if _, err := srv.userClient(t, "reader", "reader-pw"); err == nil {
		t.Fatal("old password still accepted")
	}
	reader2, err := srv.userClient(t, "reader", "reader-pw2")
	if err != nil {
		t.Fatalf("new password: %v", err)
	}
	// ...but not another's.
	if err := reader2.UpdatePassword(ctx, milvusclient.NewUpdatePasswordOption("root", "Milvus", "hijacked")); !isPermissionDenied(err) {
		t.Fatalf("update root's password as reader: %v", err)
	}
}

// TestRBACCredentialAndRoleRules checks Milvus's rules and error texts.
func TestRBACCredentialAndRoleRules(t *testing.T) {
	srv := startAuthServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := srv.userClient(t, "root", "Milvus")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"short password", root.CreateUser(ctx, milvusclient.NewCreateUserOption("bob", "123")), "invalid password length: invalid parameter[3 out of range 6 <= value <= 72]"},
		{"bad user name", root.CreateUser(ctx, milvusclient.NewCreateUserOption("1bob", "password1")), "the first character must be a letter"},
		{"drop root", root.DropUser(ctx, milvusclient.NewDropUserOption("root")), "root user cannot be deleted: privilege not permitted"},
		{"drop admin role", root.DropRole(ctx, milvusclient.NewDropRoleOption("admin")), "the role[admin] is a default role, which can't be dropped"},
		{"wrong old password", root.UpdatePassword(ctx, milvusclient.NewUpdatePasswordOption("root", "not-it", "Milvus2")), "old password not correct for root: not authenticated"},
		{"grant to missing role", root.GrantV2(ctx, milvusclient.NewGrantV2Option("ghost", "Search", "default", "c")), "not found the role"},
		{"unknown privilege", root.GrantPrivilege(ctx, milvusclient.NewGrantPrivilegeOption("public", "Collection", "Fly", "c")), "not found the privilege name[Fly] in object[Collection]"},
		{"cluster group on a collection", root.GrantV2(ctx, milvusclient.NewGrantV2Option("public", "ClusterReadOnly", "default", "c")), "dbName and collectionName should be * for the cluster level privilege: ClusterReadOnly"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, c.err, c.want)
		}
	}
	if err := root.CreateUser(ctx, milvusclient.NewCreateUserOption("bob", "password1")); err != nil {
		t.Fatal(err)
	}
	if err := root.CreateUser(ctx, milvusclient.NewCreateUserOption("bob", "password1")); err == nil || !strings.Contains(err.Error(), "user already exists: bob") {
		t.Fatalf("duplicate user: %v", err)
	}
	users, err := root.ListUsers(ctx, milvusclient.NewListUserOption())
	if err != nil || !slices.Equal(users, []string{"bob", "root"}) {
		t.Fatalf("users = %v, %v", users, err)
	}
	roles, err := root.ListRoles(ctx, milvusclient.NewListRoleOption())
	if err != nil || !slices.Equal(roles, []string{"admin", "public"}) {
		t.Fatalf("roles = %v, %v", roles, err)
	}
	groups, err := root.ListPrivilegeGroups(ctx, milvusclient.NewListPrivilegeGroupsOption())
	if err != nil || len(groups) != 9 || groups[0].GroupName != "ClusterReadOnly" {
		t.Fatalf("privilege groups = %v, %v", groups, err)
	}

	// A custom group: bob gets Query and Search on c through it.
	if err := root.CreateCollection(ctx, milvusclient.SimpleCreateCollectionOptions("c", 4)); err != nil {
		t.Fatal(err)
	}
	if err := root.CreatePrivilegeGroup(ctx, milvusclient.NewCreatePrivilegeGroupOption("readers")); err != nil {
		t.Fatal(err)
	}
	if err := root.AddPrivilegesToGroup(ctx, milvusclient.NewAddPrivilegesToGroupOption("readers", "Query", "Search")); err != nil {
		t.Fatal(err)
	}
	if err := root.AddPrivilegesToGroup(ctx, milvusclient.NewAddPrivilegesToGroupOption("readers", "CreateDatabase")); err == nil ||
		!strings.Contains(err.Error(), "privileges are not the same privilege level") {
		t.Fatalf("mixed levels: %v", err)
	}
	if err := root.CreateRole(ctx, milvusclient.NewCreateRoleOption("qr")); err != nil {
		t.Fatal(err)
	}
	if err := root.GrantV2(ctx, milvusclient.NewGrantV2Option("qr", "readers", "default", "c")); err != nil {
		t.Fatal(err)
	}
	if err := root.GrantRole(ctx, milvusclient.NewGrantRoleOption("bob", "qr")); err != nil {
		t.Fatal(err)
	}
	bob, err := srv.userClient(t, "bob", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Query(ctx, milvusclient.NewQueryOption("c").WithFilter("id > 0")); isPermissionDenied(err) {
		t.Fatalf("bob query through a custom group: %v", err)
	}
	if err := root.DropPrivilegeGroup(ctx, milvusclient.NewDropPrivilegeGroupOption("readers")); err == nil || !strings.Contains(err.Error(), "is used by role [qr]") {
		t.Fatalf("drop a granted group: %v", err)
	}
	if err := root.DropRole(ctx, milvusclient.NewDropRoleOption("qr")); err == nil {
		t.Fatal("dropped a role with grants without force")
	}

	// Backup, wipe, restore.
	resp, err := rawRBAC(t, srv, "BackupRBAC", &milvuspb.BackupRBACMetaRequest{}, &milvuspb.BackupRBACMetaResponse{})
	if err != nil {
		t.Fatal(err)
	}
	meta := resp.(*milvuspb.BackupRBACMetaResponse).GetRBACMeta()
	// As Milvus's BackupRBAC: no root, no built-in role, only the custom
	// roles' grants, so the backup restores as it is.
	if len(meta.GetUsers()) != 1 || meta.GetUsers()[0].GetUser() != "bob" || len(meta.GetRoles()) != 1 ||
		len(meta.GetGrants()) != 1 || meta.GetGrants()[0].GetRole().GetName() != "qr" || len(meta.GetPrivilegeGroups()) != 1 {
		t.Fatalf("backup = %v", meta)
	}
	if _, err := rawRBAC(t, srv, "DropRole", &milvuspb.DropRoleRequest{RoleName: "qr", ForceDrop: true}, &commonpb.Status{}); err != nil {
		t.Fatal(err)
	}
	if err := root.DropPrivilegeGroup(ctx, milvusclient.NewDropPrivilegeGroupOption("readers")); err != nil {
		t.Fatal(err)
	}
	if err := root.DropUser(ctx, milvusclient.NewDropUserOption("bob")); err != nil {
		t.Fatal(err)
	}
	restore := meta
	if _, err := rawRBAC(t, srv, "RestoreRBAC", &milvuspb.RestoreRBACMetaRequest{RBACMeta: restore}, &commonpb.Status{}); err != nil {
		t.Fatal(err)
	}
	bob2, err := srv.userClient(t, "bob", "password1")
	if err != nil {
		t.Fatalf("bob after restore (password hash restored): %v", err)
	}
	if _, err := bob2.Query(ctx, milvusclient.NewQueryOption("c").WithFilter("id > 0")); isPermissionDenied(err) {
		t.Fatalf("bob's grant after restore: %v", err)
	}
	if _, err := rawRBAC(t, srv, "RestoreRBAC", &milvuspb.RestoreRBACMetaRequest{RBACMeta: restore}, &commonpb.Status{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("restoring twice: %v", err)
	}
}

// rawRBAC calls a method the SDK does not wrap, as root, and turns a
// failed status into an error.
func rawRBAC(t *testing.T, srv *server, method string, in, out proto.Message) (proto.Message, error) {
	t.Helper()
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", base64.StdEncoding.EncodeToString([]byte("root:Milvus")))
	if err := conn.Invoke(ctx, "/milvus.proto.milvus.MilvusService/"+method, in, out); err != nil {
		return nil, err
	}
	st, ok := out.(*commonpb.Status)
	if !ok {
		st = out.ProtoReflect().Get(out.ProtoReflect().Descriptor().Fields().ByName("status")).Message().Interface().(*commonpb.Status)
	}
	if st.GetCode() != 0 {
		return nil, &statusError{st}
	}
	return out, nil
}

type statusError struct{ st *commonpb.Status }

func (e *statusError) Error() string { return e.st.GetReason() }

// TestRBACREST drives users, roles and grants over REST v2 and checks that
// REST endpoints enforce the same privileges.
func TestRBACREST(t *testing.T) {
	srv := startAuthServer(t)
	const rootAuth = "Bearer root:Milvus"
	post := func(path, auth, body string) map[string]any {
		t.Helper()
		_, out := restCall(t, srv, "/v2/vectordb"+path, auth, body)
		return out
	}
	ok := func(path, body string) {
		t.Helper()
		if out := post(path, rootAuth, body); out["code"] != float64(0) {
			t.Fatalf("%s %s: %v", path, body, out)
		}
	}
	ok("/collections/create", `{"collectionName":"docs","dimension":4}`)
	ok("/users/create", `{"userName":"carol","password":"carol-pw"}`)
	ok("/roles/create", `{"roleName":"writer"}`)
	ok("/users/grant_role", `{"userName":"carol","roleName":"writer"}`)
	ok("/roles/grant_privilege_v2", `{"roleName":"writer","privilege":"Insert","dbName":"default","collectionName":"docs"}`)
	if out := post("/users/list", rootAuth, `{}`); out["code"] != float64(0) || len(out["data"].([]any)) != 2 {
		t.Fatalf("users/list: %v", out)
	}
	if out := post("/users/describe", rootAuth, `{"userName":"carol"}`); out["code"] != float64(0) || out["data"].([]any)[0] != "writer" {
		t.Fatalf("users/describe: %v", out)
	}
	if out := post("/roles/describe", rootAuth, `{"roleName":"writer"}`); out["code"] != float64(0) || len(out["data"].([]any)) != 1 {
		t.Fatalf("roles/describe: %v", out)
	}
	const carol = "Bearer carol:carol-pw"
	if out := post("/entities/insert", carol, `{"collectionName":"docs","data":[{"id":1,"vector":[1,2,3,4]}]}`); out["code"] != float64(0) {
		t.Fatalf("carol insert: %v", out)
	}
	code, out := restCall(t, srv, "/v2/vectordb/entities/query", carol, `{"collectionName":"docs","filter":"id > 0"}`)
	if code != http.StatusForbidden || !strings.Contains(out["message"].(string), "PrivilegeQuery: permission deny to carol in the `default` database") {
		t.Fatalf("carol query: HTTP %d %v", code, out)
	}
	if _, out := restCall(t, srv, "/v2/vectordb/users/create", carol, `{"userName":"eve","password":"eve-pw-1"}`); !strings.Contains(out["message"].(string), "PrivilegeCreateOwnership") {
		t.Fatalf("carol creates a user: %v", out)
	}
	if out := post("/privilege_groups/list", rootAuth, `{}`); out["code"] != float64(0) {
		t.Fatalf("privilege_groups/list: %v", out)
	}
	if out := post("/users/drop", rootAuth, `{"userName":"root"}`); out["code"] != float64(1401) {
		t.Fatalf("drop root over REST: %v", out)
	}
}
