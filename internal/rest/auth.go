package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus/pkg/v2/proto/internalpb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/auth"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rpc"
)

// rbacAPI is the credential, role and privilege API the users/, roles/
// and privilege_groups/ endpoints call (the gRPC service implements it).
type rbacAPI interface {
	CreateCredential(context.Context, *milvuspb.CreateCredentialRequest) (*commonpb.Status, error)
	UpdateCredential(context.Context, *milvuspb.UpdateCredentialRequest) (*commonpb.Status, error)
	DeleteCredential(context.Context, *milvuspb.DeleteCredentialRequest) (*commonpb.Status, error)
	ListCredUsers(context.Context, *milvuspb.ListCredUsersRequest) (*milvuspb.ListCredUsersResponse, error)
	CreateRole(context.Context, *milvuspb.CreateRoleRequest) (*commonpb.Status, error)
	DropRole(context.Context, *milvuspb.DropRoleRequest) (*commonpb.Status, error)
	OperateUserRole(context.Context, *milvuspb.OperateUserRoleRequest) (*commonpb.Status, error)
	SelectRole(context.Context, *milvuspb.SelectRoleRequest) (*milvuspb.SelectRoleResponse, error)
	SelectUser(context.Context, *milvuspb.SelectUserRequest) (*milvuspb.SelectUserResponse, error)
	OperatePrivilege(context.Context, *milvuspb.OperatePrivilegeRequest) (*commonpb.Status, error)
	OperatePrivilegeV2(context.Context, *milvuspb.OperatePrivilegeV2Request) (*commonpb.Status, error)
	SelectGrant(context.Context, *milvuspb.SelectGrantRequest) (*milvuspb.SelectGrantResponse, error)
	CreatePrivilegeGroup(context.Context, *milvuspb.CreatePrivilegeGroupRequest) (*commonpb.Status, error)
	DropPrivilegeGroup(context.Context, *milvuspb.DropPrivilegeGroupRequest) (*commonpb.Status, error)
	ListPrivilegeGroups(context.Context, *milvuspb.ListPrivilegeGroupsRequest) (*milvuspb.ListPrivilegeGroupsResponse, error)
	OperatePrivilegeGroup(context.Context, *milvuspb.OperatePrivilegeGroupRequest) (*commonpb.Status, error)
	listAPI
}

// listAPI lists collections and databases. With authorization on, the
// endpoints list through the gRPC service, whose answers are filtered to
// what the caller may see (Milvus's getCurrentUserVisibleCollections /
// getCurrentUserVisibleDatabases), so REST and gRPC share one filter.
type listAPI interface {
	ShowCollections(context.Context, *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error)
	ListDatabases(context.Context, *milvuspb.ListDatabasesRequest) (*milvuspb.ListDatabasesResponse, error)
}

// errNeedAuthenticate is merr.ErrNeedAuthenticate, what Milvus's REST
// server answers (HTTP 401) to a request without valid credentials.
var errNeedAuthenticate = &errs.Error{Code: 1800, Msg: "user hasn't authenticated"}

// SetAuth makes h authenticate every request (when guard is enabled),
// check the privilege of the gRPC call each endpoint stands for, and serve
// the users/, roles/ and privilege_groups/ endpoints over api. Call it
// before serving.
func (h *Handler) SetAuth(guard *auth.Guard, api rbacAPI) {
	h.guard = guard
	h.rbac = api
	if api != nil {
		h.lists = api
	}
	for p, ep := range h.rbacRoutes() {
		h.routes[p] = ep
	}
}

// credentials reads the caller's "user:password" from Basic auth or
// "Authorization: Bearer user:password", as Milvus's REST server does.
func credentials(req *http.Request) string {
	if u, p, ok := req.BasicAuth(); ok {
		return u + ":" + p
	}
	v := req.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(v, "Bearer "); ok {
		return t
	}
	return ""
}

// authenticate returns the caller, or false after answering 401.
func (h *Handler) authenticate(w http.ResponseWriter, req *http.Request) (string, bool) {
	user, err := h.guard.Verify(credentials(req))
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": errNeedAuthenticate.Code, "message": errNeedAuthenticate.Msg})
		return "", false
	}
	return user, true
}

// authBody holds the body keys that name a request's object.
type authBody struct {
	CollectionName string `json:"collectionName"`
	NewCollection  string `json:"newCollectionName"`
	UserName       string `json:"userName"`
	RoleName       string `json:"roleName"`
}

// authorize checks the privilege of the gRPC request endpoint path stands
// for; every endpoint has one in grpcRequestFor (a test keeps it so).
func (h *Handler) authorize(ctx context.Context, user, path, db string, body []byte) error {
	var b authBody
	_ = json.Unmarshal(body, &b) // a malformed body fails in the endpoint
	mk, ok := grpcRequestFor[path]
	if !ok {
		return nil
	}
	return h.guard.Authorize(ctx, user, db, mk(&b))
}

// grpcRequestFor maps each endpoint to the gRPC request Milvus's REST
// server checks privileges with (the same privilege_ext_obj table).
var grpcRequestFor = map[string]func(b *authBody) proto.Message{
	"/collections/create": func(b *authBody) proto.Message {
		return &milvuspb.CreateCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/list": func(*authBody) proto.Message { return &milvuspb.ShowCollectionsRequest{} },
	"/collections/describe": func(b *authBody) proto.Message {
		return &milvuspb.DescribeCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/has": func(b *authBody) proto.Message {
		return &milvuspb.HasCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/drop": func(b *authBody) proto.Message {
		return &milvuspb.DropCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/get_stats": func(b *authBody) proto.Message {
		return &milvuspb.GetCollectionStatisticsRequest{CollectionName: b.CollectionName}
	},
	"/collections/load": func(b *authBody) proto.Message {
		return &milvuspb.LoadCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/refresh_load": func(b *authBody) proto.Message {
		return &milvuspb.LoadCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/release": func(b *authBody) proto.Message {
		return &milvuspb.ReleaseCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/get_load_state": func(b *authBody) proto.Message {
		return &milvuspb.GetLoadStateRequest{CollectionName: b.CollectionName}
	},
	"/collections/flush": func(b *authBody) proto.Message {
		return &milvuspb.FlushRequest{CollectionNames: []string{b.CollectionName}}
	},
	"/collections/alter_properties": func(b *authBody) proto.Message {
		return &milvuspb.AlterCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/drop_properties": func(b *authBody) proto.Message {
		return &milvuspb.AlterCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/rename": func(b *authBody) proto.Message {
		return &milvuspb.RenameCollectionRequest{OldName: b.CollectionName, NewName: b.NewCollection}
	},
	"/collections/truncate": func(b *authBody) proto.Message {
		return &milvuspb.TruncateCollectionRequest{CollectionName: b.CollectionName}
	},
	"/collections/fields/add": func(b *authBody) proto.Message {
		return &milvuspb.AddCollectionFieldRequest{CollectionName: b.CollectionName}
	},
	"/collections/fields/alter_properties": func(b *authBody) proto.Message {
		return &milvuspb.AlterCollectionFieldRequest{CollectionName: b.CollectionName}
	},
	"/collections/compact": func(b *authBody) proto.Message {
		return &milvuspb.ManualCompactionRequest{CollectionName: b.CollectionName}
	},
	"/collections/get_compaction_state": func(*authBody) proto.Message { return &milvuspb.GetCompactionStateRequest{} },
	"/collections/add_function": func(b *authBody) proto.Message {
		return &milvuspb.AddCollectionFunctionRequest{CollectionName: b.CollectionName}
	},
	"/collections/alter_function": func(b *authBody) proto.Message {
		return &milvuspb.AlterCollectionFunctionRequest{CollectionName: b.CollectionName}
	},
	"/collections/drop_function": func(b *authBody) proto.Message {
		return &milvuspb.DropCollectionFunctionRequest{CollectionName: b.CollectionName}
	},

	"/entities/insert": func(b *authBody) proto.Message { return &milvuspb.InsertRequest{CollectionName: b.CollectionName} },
	"/entities/upsert": func(b *authBody) proto.Message { return &milvuspb.UpsertRequest{CollectionName: b.CollectionName} },
	"/entities/delete": func(b *authBody) proto.Message { return &milvuspb.DeleteRequest{CollectionName: b.CollectionName} },
	"/entities/query":  func(b *authBody) proto.Message { return &milvuspb.QueryRequest{CollectionName: b.CollectionName} },
	"/entities/get":    func(b *authBody) proto.Message { return &milvuspb.QueryRequest{CollectionName: b.CollectionName} },
	"/entities/search": func(b *authBody) proto.Message { return &milvuspb.SearchRequest{CollectionName: b.CollectionName} },
	"/entities/hybrid_search": func(b *authBody) proto.Message {
		return &milvuspb.HybridSearchRequest{CollectionName: b.CollectionName}
	},
	"/entities/advanced_search": func(b *authBody) proto.Message {
		return &milvuspb.HybridSearchRequest{CollectionName: b.CollectionName}
	},

	"/indexes/create": func(b *authBody) proto.Message { return &milvuspb.CreateIndexRequest{CollectionName: b.CollectionName} },
	"/indexes/describe": func(b *authBody) proto.Message {
		return &milvuspb.DescribeIndexRequest{CollectionName: b.CollectionName}
	},
	"/indexes/list": func(b *authBody) proto.Message {
		return &milvuspb.DescribeIndexRequest{CollectionName: b.CollectionName}
	},
	"/indexes/drop":             func(b *authBody) proto.Message { return &milvuspb.DropIndexRequest{CollectionName: b.CollectionName} },
	"/indexes/alter_properties": func(b *authBody) proto.Message { return &milvuspb.AlterIndexRequest{CollectionName: b.CollectionName} },
	"/indexes/drop_properties":  func(b *authBody) proto.Message { return &milvuspb.AlterIndexRequest{CollectionName: b.CollectionName} },

	"/partitions/create": func(b *authBody) proto.Message {
		return &milvuspb.CreatePartitionRequest{CollectionName: b.CollectionName}
	},
	"/partitions/list": func(b *authBody) proto.Message {
		return &milvuspb.ShowPartitionsRequest{CollectionName: b.CollectionName}
	},
	"/partitions/has": func(b *authBody) proto.Message {
		return &milvuspb.HasPartitionRequest{CollectionName: b.CollectionName}
	},
	"/partitions/drop": func(b *authBody) proto.Message {
		return &milvuspb.DropPartitionRequest{CollectionName: b.CollectionName}
	},
	"/partitions/load": func(b *authBody) proto.Message {
		return &milvuspb.LoadPartitionsRequest{CollectionName: b.CollectionName}
	},
	"/partitions/release": func(b *authBody) proto.Message {
		return &milvuspb.ReleasePartitionsRequest{CollectionName: b.CollectionName}
	},
	"/partitions/get_stats": func(b *authBody) proto.Message {
		return &milvuspb.GetPartitionStatisticsRequest{CollectionName: b.CollectionName}
	},

	"/databases/create":           func(*authBody) proto.Message { return &milvuspb.CreateDatabaseRequest{} },
	"/databases/list":             func(*authBody) proto.Message { return &milvuspb.ListDatabasesRequest{} },
	"/databases/describe":         func(*authBody) proto.Message { return &milvuspb.DescribeDatabaseRequest{} },
	"/databases/drop":             func(*authBody) proto.Message { return &milvuspb.DropDatabaseRequest{} },
	"/databases/alter":            func(*authBody) proto.Message { return &milvuspb.AlterDatabaseRequest{} },
	"/databases/alter_properties": func(*authBody) proto.Message { return &milvuspb.AlterDatabaseRequest{} },
	"/databases/drop_properties":  func(*authBody) proto.Message { return &milvuspb.AlterDatabaseRequest{} },

	"/aliases/create":   func(*authBody) proto.Message { return &milvuspb.CreateAliasRequest{} },
	"/aliases/list":     func(*authBody) proto.Message { return &milvuspb.ListAliasesRequest{} },
	"/aliases/describe": func(*authBody) proto.Message { return &milvuspb.DescribeAliasRequest{} },
	"/aliases/drop":     func(*authBody) proto.Message { return &milvuspb.DropAliasRequest{} },
	"/aliases/alter":    func(*authBody) proto.Message { return &milvuspb.AlterAliasRequest{} },

	"/users/list": func(*authBody) proto.Message { return &milvuspb.ListCredUsersRequest{} },
	"/users/describe": func(b *authBody) proto.Message {
		return &milvuspb.SelectUserRequest{User: &milvuspb.UserEntity{Name: b.UserName}}
	},
	"/users/create":          func(b *authBody) proto.Message { return &milvuspb.CreateCredentialRequest{Username: b.UserName} },
	"/users/drop":            func(b *authBody) proto.Message { return &milvuspb.DeleteCredentialRequest{Username: b.UserName} },
	"/users/update_password": func(b *authBody) proto.Message { return &milvuspb.UpdateCredentialRequest{Username: b.UserName} },
	"/users/grant_role":      func(b *authBody) proto.Message { return &milvuspb.OperateUserRoleRequest{Username: b.UserName} },
	"/users/revoke_role":     func(b *authBody) proto.Message { return &milvuspb.OperateUserRoleRequest{Username: b.UserName} },

	"/roles/list": func(*authBody) proto.Message { return &milvuspb.SelectRoleRequest{} },
	"/roles/describe": func(b *authBody) proto.Message {
		return &milvuspb.SelectGrantRequest{Entity: &milvuspb.GrantEntity{Role: &milvuspb.RoleEntity{Name: b.RoleName}}}
	},
	"/roles/create":              func(*authBody) proto.Message { return &milvuspb.CreateRoleRequest{} },
	"/roles/drop":                func(*authBody) proto.Message { return &milvuspb.DropRoleRequest{} },
	"/roles/grant_privilege":     func(*authBody) proto.Message { return &milvuspb.OperatePrivilegeRequest{} },
	"/roles/revoke_privilege":    func(*authBody) proto.Message { return &milvuspb.OperatePrivilegeRequest{} },
	"/roles/grant_privilege_v2":  func(*authBody) proto.Message { return &milvuspb.OperatePrivilegeV2Request{} },
	"/roles/revoke_privilege_v2": func(*authBody) proto.Message { return &milvuspb.OperatePrivilegeV2Request{} },

	"/privilege_groups/list":                         func(*authBody) proto.Message { return &milvuspb.ListPrivilegeGroupsRequest{} },
	"/privilege_groups/create":                       func(*authBody) proto.Message { return &milvuspb.CreatePrivilegeGroupRequest{} },
	"/privilege_groups/drop":                         func(*authBody) proto.Message { return &milvuspb.DropPrivilegeGroupRequest{} },
	"/privilege_groups/add_privileges_to_group":      func(*authBody) proto.Message { return &milvuspb.OperatePrivilegeGroupRequest{} },
	"/privilege_groups/remove_privileges_from_group": func(*authBody) proto.Message { return &milvuspb.OperatePrivilegeGroupRequest{} },

	"/jobs/import/list":         func(*authBody) proto.Message { return &milvuspb.ListImportTasksRequest{} },
	"/jobs/import/create":       func(b *authBody) proto.Message { return &milvuspb.ImportRequest{CollectionName: b.CollectionName} },
	"/jobs/import/get_progress": func(*authBody) proto.Message { return &milvuspb.GetImportStateRequest{} },
	"/jobs/import/describe":     func(*authBody) proto.Message { return &milvuspb.GetImportStateRequest{} },

	"/resource_groups/list":             func(*authBody) proto.Message { return &milvuspb.ListResourceGroupsRequest{} },
	"/resource_groups/describe":         func(*authBody) proto.Message { return &milvuspb.DescribeResourceGroupRequest{} },
	"/resource_groups/create":           func(*authBody) proto.Message { return &milvuspb.CreateResourceGroupRequest{} },
	"/resource_groups/drop":             func(*authBody) proto.Message { return &milvuspb.DropResourceGroupRequest{} },
	"/resource_groups/alter":            func(*authBody) proto.Message { return &milvuspb.UpdateResourceGroupsRequest{} },
	"/resource_groups/transfer_replica": func(*authBody) proto.Message { return &milvuspb.TransferReplicaRequest{} },

	"/segments/describe": func(*authBody) proto.Message { return &milvuspb.GetPersistentSegmentInfoRequest{} },
	// Milvus checks GetQuotaMetrics with internalpb's request, which names
	// no privilege: any authenticated user may read the quota center.
	"/quotacenter/describe": func(*authBody) proto.Message { return &internalpb.GetQuotaMetricsRequest{} },
	"/common/run_analyzer":  func(*authBody) proto.Message { return &milvuspb.RunAnalyzerRequest{} },
}

// The users/, roles/ and privilege_groups/ endpoints (Milvus's
// handler_v2.go shapes).
func (h *Handler) rbacRoutes() map[string]endpoint {
	status := func(st *commonpb.Status, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		if e := rpc.ErrorOf(st); e != nil {
			return nil, e
		}
		return empty(), nil
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	type userReq struct {
		UserName    string `json:"userName"`
		Password    string `json:"password"`
		NewPassword string `json:"newPassword"`
		RoleName    string `json:"roleName"`
	}
	type roleReq struct {
		RoleName       string `json:"roleName"`
		ObjectType     string `json:"objectType"`
		ObjectName     string `json:"objectName"`
		Privilege      string `json:"privilege"`
		DBName         string `json:"dbName"`
		CollectionName string `json:"collectionName"`
	}
	type groupReq struct {
		Name       string   `json:"privilegeGroupName"`
		Privileges []string `json:"privileges"`
	}
	userRole := func(t milvuspb.OperateUserRoleType) endpoint {
		return func(ctx context.Context, c *call) (any, error) {
			var r userReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.OperateUserRole(ctx, &milvuspb.OperateUserRoleRequest{Username: r.UserName, RoleName: r.RoleName, Type: t}))
		}
	}
	grantV1 := func(t milvuspb.OperatePrivilegeType) endpoint {
		return func(ctx context.Context, c *call) (any, error) {
			var r roleReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.OperatePrivilege(ctx, &milvuspb.OperatePrivilegeRequest{Type: t, Entity: &milvuspb.GrantEntity{
				Role: &milvuspb.RoleEntity{Name: r.RoleName}, Object: &milvuspb.ObjectEntity{Name: r.ObjectType}, ObjectName: r.ObjectName,
				DbName: c.db, Grantor: &milvuspb.GrantorEntity{Privilege: &milvuspb.PrivilegeEntity{Name: r.Privilege}}}}))
		}
	}
	grantV2 := func(t milvuspb.OperatePrivilegeType) endpoint {
		return func(ctx context.Context, c *call) (any, error) {
			var r roleReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.OperatePrivilegeV2(ctx, &milvuspb.OperatePrivilegeV2Request{Type: t, Role: &milvuspb.RoleEntity{Name: r.RoleName},
				Grantor: &milvuspb.GrantorEntity{Privilege: &milvuspb.PrivilegeEntity{Name: r.Privilege}}, DbName: r.DBName, CollectionName: r.CollectionName}))
		}
	}
	group := func(t milvuspb.OperatePrivilegeGroupType) endpoint {
		return func(ctx context.Context, c *call) (any, error) {
			var r groupReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			req := &milvuspb.OperatePrivilegeGroupRequest{GroupName: r.Name, Type: t}
			for _, p := range r.Privileges {
				req.Privileges = append(req.Privileges, &milvuspb.PrivilegeEntity{Name: p})
			}
			return status(h.rbac.OperatePrivilegeGroup(ctx, req))
		}
	}
	return map[string]endpoint{
		"/users/list": func(ctx context.Context, c *call) (any, error) {
			resp, err := h.rbac.ListCredUsers(ctx, &milvuspb.ListCredUsersRequest{})
			if err == nil {
				err = rpc.ErrorOf(resp.GetStatus())
			}
			if err != nil {
				return nil, err
			}
			return nonNil(resp.GetUsernames()), nil
		},
		"/users/describe": func(ctx context.Context, c *call) (any, error) {
			var r userReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			resp, err := h.rbac.SelectUser(ctx, &milvuspb.SelectUserRequest{User: &milvuspb.UserEntity{Name: r.UserName}, IncludeRoleInfo: true})
			if err == nil {
				err = rpc.ErrorOf(resp.GetStatus())
			}
			if err != nil {
				return nil, err
			}
			roles := []string{}
			for _, res := range resp.GetResults() {
				if res.GetUser().GetName() == r.UserName {
					for _, role := range res.GetRoles() {
						roles = append(roles, role.GetName())
					}
				}
			}
			return roles, nil
		},
		"/users/create": func(ctx context.Context, c *call) (any, error) {
			var r userReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.CreateCredential(ctx, &milvuspb.CreateCredentialRequest{Username: r.UserName, Password: b64(r.Password)}))
		},
		"/users/update_password": func(ctx context.Context, c *call) (any, error) {
			var r userReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.UpdateCredential(ctx, &milvuspb.UpdateCredentialRequest{Username: r.UserName,
				OldPassword: b64(r.Password), NewPassword: b64(r.NewPassword)}))
		},
		"/users/drop": func(ctx context.Context, c *call) (any, error) {
			var r userReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.DeleteCredential(ctx, &milvuspb.DeleteCredentialRequest{Username: r.UserName}))
		},
		"/users/grant_role":  userRole(milvuspb.OperateUserRoleType_AddUserToRole),
		"/users/revoke_role": userRole(milvuspb.OperateUserRoleType_RemoveUserFromRole),
		"/roles/list": func(ctx context.Context, c *call) (any, error) {
			resp, err := h.rbac.SelectRole(ctx, &milvuspb.SelectRoleRequest{})
			if err == nil {
				err = rpc.ErrorOf(resp.GetStatus())
			}
			if err != nil {
				return nil, err
			}
			roles := []string{}
			for _, res := range resp.GetResults() {
				roles = append(roles, res.GetRole().GetName())
			}
			return roles, nil
		},
		"/roles/describe": func(ctx context.Context, c *call) (any, error) {
			var r roleReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			resp, err := h.rbac.SelectGrant(ctx, &milvuspb.SelectGrantRequest{Entity: &milvuspb.GrantEntity{Role: &milvuspb.RoleEntity{Name: r.RoleName}, DbName: c.db}})
			if err == nil {
				err = rpc.ErrorOf(resp.GetStatus())
			}
			if err != nil {
				return nil, err
			}
			out := []map[string]string{}
			for _, g := range resp.GetEntities() {
				out = append(out, map[string]string{"objectType": g.GetObject().GetName(), "objectName": g.GetObjectName(),
					"privilege": g.GetGrantor().GetPrivilege().GetName(), "dbName": g.GetDbName(), "grantor": g.GetGrantor().GetUser().GetName()})
			}
			return out, nil
		},
		"/roles/create": func(ctx context.Context, c *call) (any, error) {
			var r roleReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.CreateRole(ctx, &milvuspb.CreateRoleRequest{Entity: &milvuspb.RoleEntity{Name: r.RoleName}}))
		},
		"/roles/drop": func(ctx context.Context, c *call) (any, error) {
			var r roleReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.DropRole(ctx, &milvuspb.DropRoleRequest{RoleName: r.RoleName}))
		},
		"/roles/grant_privilege":     grantV1(milvuspb.OperatePrivilegeType_Grant),
		"/roles/revoke_privilege":    grantV1(milvuspb.OperatePrivilegeType_Revoke),
		"/roles/grant_privilege_v2":  grantV2(milvuspb.OperatePrivilegeType_Grant),
		"/roles/revoke_privilege_v2": grantV2(milvuspb.OperatePrivilegeType_Revoke),
		"/privilege_groups/list": func(ctx context.Context, c *call) (any, error) {
			resp, err := h.rbac.ListPrivilegeGroups(ctx, &milvuspb.ListPrivilegeGroupsRequest{})
			if err == nil {
				err = rpc.ErrorOf(resp.GetStatus())
			}
			if err != nil {
				return nil, err
			}
			groups := []map[string]any{}
			for _, g := range resp.GetPrivilegeGroups() {
				names := make([]string, 0, len(g.GetPrivileges()))
				for _, p := range g.GetPrivileges() {
					names = append(names, p.GetName())
				}
				groups = append(groups, map[string]any{"privilegeGroupName": g.GetGroupName(), "privileges": strings.Join(names, ",")})
			}
			return map[string]any{"privilegeGroups": groups}, nil
		},
		"/privilege_groups/create": func(ctx context.Context, c *call) (any, error) {
			var r groupReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.CreatePrivilegeGroup(ctx, &milvuspb.CreatePrivilegeGroupRequest{GroupName: r.Name}))
		},
		"/privilege_groups/drop": func(ctx context.Context, c *call) (any, error) {
			var r groupReq
			if err := c.decode(&r); err != nil {
				return nil, err
			}
			return status(h.rbac.DropPrivilegeGroup(ctx, &milvuspb.DropPrivilegeGroupRequest{GroupName: r.Name}))
		},
		"/privilege_groups/add_privileges_to_group":      group(milvuspb.OperatePrivilegeGroupType_AddPrivilegesToGroup),
		"/privilege_groups/remove_privileges_from_group": group(milvuspb.OperatePrivilegeGroupType_RemovePrivilegesFromGroup),
	}
}
