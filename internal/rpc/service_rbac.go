package rpc

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/auth"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/rbac"
)

// The credential, role, grant and privilege group API (Milvus's
// proxy/impl.go and rootcoord's checks), over the RBAC model in the meta
// store. The privilege each call needs is checked before it gets here, by
// the auth interceptor.

// WithRBAC gives the service the RBAC model; without it the RBAC methods
// answer "service unimplemented". The caller was authenticated, and its
// privilege checked, by the auth interceptor (rpc.Config.Auth).
func (s *Service) WithRBAC(store *rbac.Store) *Service {
	s.acl = store
	return s
}

func (s *Service) rbacReady() error {
	if s.acl == nil {
		return fmt.Errorf("users and roles are not served by this node: %w", errs.ErrServiceUnimplemented)
	}
	return nil
}

func decodePassword(what, b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("decode %s fail: %v", what, err)
	}
	return string(raw), nil
}

func (s *Service) CreateCredential(ctx context.Context, req *milvuspb.CreateCredentialRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.CreateCredentialRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		if err := rbac.ValidateUsername(req.GetUsername()); err != nil {
			return err
		}
		password, err := decodePassword("password", req.GetPassword())
		if err != nil {
			return err
		}
		if err := rbac.ValidatePassword(password); err != nil {
			return err
		}
		if len(s.acl.Users()) >= maxUsers {
			return errs.Plain("unable to add user because the number of users has reached the limit")
		}
		return s.acl.CreateUser(ctx, req.GetUsername(), password)
	})
}

// maxUsers is Milvus's proxy.maxUserNum.
const maxUsers = 100

// maxRoles is Milvus's proxy.maxRoleNum.
const maxRoles = 10

func (s *Service) UpdateCredential(ctx context.Context, req *milvuspb.UpdateCredentialRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.UpdateCredentialRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		oldPassword, err := decodePassword("old password", req.GetOldPassword())
		if err != nil {
			return err
		}
		newPassword, err := decodePassword("password", req.GetNewPassword())
		if err != nil {
			return err
		}
		if err := rbac.ValidatePassword(newPassword); err != nil {
			return err
		}
		// common.security.superUsers change any password without the old one.
		if !s.acl.SuperUser(auth.User(ctx)) && !s.acl.Authenticate(req.GetUsername(), oldPassword) {
			return fmt.Errorf("old password not correct for %s: %w", req.GetUsername(), errs.ErrPrivilegeNotAuthenticated)
		}
		return s.acl.UpdatePassword(ctx, req.GetUsername(), newPassword)
	})
}

func (s *Service) DeleteCredential(ctx context.Context, req *milvuspb.DeleteCredentialRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.DeleteCredentialRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		if req.GetUsername() == rbac.UserRoot {
			return fmt.Errorf("root user cannot be deleted: %w", errs.ErrPrivilegeNotPermitted)
		}
		return s.acl.DeleteUser(ctx, req.GetUsername())
	})
}

func (s *Service) ListCredUsers(ctx context.Context, req *milvuspb.ListCredUsersRequest) (*milvuspb.ListCredUsersResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.ListCredUsersRequest) (*milvuspb.ListCredUsersResponse, error) {
		if err := s.rbacReady(); err != nil {
			return nil, err
		}
		return &milvuspb.ListCredUsersResponse{Usernames: s.acl.Users()}, nil
	}, func() *milvuspb.ListCredUsersResponse { return &milvuspb.ListCredUsersResponse{} })
}

func (s *Service) CreateRole(ctx context.Context, req *milvuspb.CreateRoleRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.CreateRoleRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		name := req.GetEntity().GetName()
		if err := rbac.ValidateRoleName(name); err != nil {
			return err
		}
		if !s.acl.HasRole(name) && len(s.acl.Roles()) >= maxRoles {
			return errs.Plain("unable to create role because the number of roles has reached the limit")
		}
		return s.acl.CreateRole(ctx, name)
	})
}

func (s *Service) DropRole(ctx context.Context, req *milvuspb.DropRoleRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.DropRoleRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		if err := rbac.ValidateRoleName(req.GetRoleName()); err != nil {
			return err
		}
		if req.GetRoleName() == rbac.RoleAdmin || req.GetRoleName() == rbac.RolePublic {
			return fmt.Errorf("the role[%s] is a default role, which can't be dropped: %w", req.GetRoleName(), errs.ErrPrivilegeNotPermitted)
		}
		return s.acl.DropRole(ctx, req.GetRoleName(), req.GetForceDrop())
	})
}

func (s *Service) OperateUserRole(ctx context.Context, req *milvuspb.OperateUserRoleRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.OperateUserRoleRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		if err := rbac.ValidateUsername(req.GetUsername()); err != nil {
			return err
		}
		if err := rbac.ValidateRoleName(req.GetRoleName()); err != nil {
			return err
		}
		switch req.GetType() {
		case milvuspb.OperateUserRoleType_AddUserToRole:
			return s.acl.BindRole(ctx, req.GetUsername(), req.GetRoleName(), true)
		case milvuspb.OperateUserRoleType_RemoveUserFromRole:
			return s.acl.BindRole(ctx, req.GetUsername(), req.GetRoleName(), false)
		}
		return errs.Plain("invalid operate user role type")
	})
}

func (s *Service) SelectRole(ctx context.Context, req *milvuspb.SelectRoleRequest) (*milvuspb.SelectRoleResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.SelectRoleRequest) (*milvuspb.SelectRoleResponse, error) {
		if err := s.rbacReady(); err != nil {
			return nil, err
		}
		roles := s.acl.Roles()
		if req.GetRole() != nil {
			if err := rbac.ValidateRoleName(req.GetRole().GetName()); err != nil {
				return nil, err
			}
			if !s.acl.HasRole(req.GetRole().GetName()) {
				return &milvuspb.SelectRoleResponse{}, nil
			}
			roles = []string{req.GetRole().GetName()}
		}
		resp := &milvuspb.SelectRoleResponse{}
		for _, r := range roles {
			res := &milvuspb.RoleResult{Role: &milvuspb.RoleEntity{Name: r}}
			if req.GetIncludeUserInfo() {
				for _, u := range s.acl.UsersOf(r) {
					res.Users = append(res.Users, &milvuspb.UserEntity{Name: u})
				}
			}
			resp.Results = append(resp.Results, res)
		}
		return resp, nil
	}, func() *milvuspb.SelectRoleResponse { return &milvuspb.SelectRoleResponse{} })
}

func (s *Service) SelectUser(ctx context.Context, req *milvuspb.SelectUserRequest) (*milvuspb.SelectUserResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.SelectUserRequest) (*milvuspb.SelectUserResponse, error) {
		if err := s.rbacReady(); err != nil {
			return nil, err
		}
		users := s.acl.Users()
		if req.GetUser() != nil {
			if err := rbac.ValidateUsername(req.GetUser().GetName()); err != nil {
				return nil, err
			}
			if !s.acl.HasUser(req.GetUser().GetName()) {
				return &milvuspb.SelectUserResponse{}, nil
			}
			users = []string{req.GetUser().GetName()}
		}
		resp := &milvuspb.SelectUserResponse{}
		for _, u := range users {
			res := &milvuspb.UserResult{User: &milvuspb.UserEntity{Name: u}}
			if req.GetIncludeRoleInfo() {
				for _, r := range s.acl.RolesOf(u) {
					res.Roles = append(res.Roles, &milvuspb.RoleEntity{Name: r})
				}
			}
			resp.Results = append(resp.Results, res)
		}
		return resp, nil
	}, func() *milvuspb.SelectUserResponse { return &milvuspb.SelectUserResponse{} })
}

// grantor is who grants: the authenticated user, root when authentication
// is off (Milvus refuses grants without credentials; Milvago records root).
func grantor(ctx context.Context) string {
	if u := auth.User(ctx); u != "" {
		return u
	}
	return rbac.UserRoot
}

func (s *Service) OperatePrivilege(ctx context.Context, req *milvuspb.OperatePrivilegeRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.OperatePrivilegeRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		e := req.GetEntity()
		switch {
		case e == nil:
			return errs.Plain("the entity in the request is nil")
		case e.GetGrantor() == nil:
			return errs.Plain("the grantor entity in the grant entity is nil")
		case e.GetGrantor().GetPrivilege() == nil:
			return errs.Plain("the privilege entity in the grantor entity is nil")
		}
		priv := e.GetGrantor().GetPrivilege().GetName()
		if err := rbac.ValidatePrivilege(priv); err != nil {
			return err
		}
		if e.GetObject() == nil {
			return errs.Plain("the resource entity in the grant entity is nil")
		}
		if err := rbac.ValidateObjectType(e.GetObject().GetName()); err != nil {
			return err
		}
		if err := rbac.ValidateObjectName(e.GetObjectName()); err != nil {
			return err
		}
		if e.GetRole() == nil {
			return errs.Plain("the object entity in the grant entity is nil")
		}
		if err := rbac.ValidateRoleName(e.GetRole().GetName()); err != nil {
			return err
		}
		if _, ok := commonpb.ObjectType_value[e.GetObject().GetName()]; !ok {
			return errs.Plain("the object entity in the request is nil or invalid")
		}
		if err := s.checkOperate(req.GetType(), e.GetRole().GetName(), grantor(ctx)); err != nil {
			return err
		}
		if err := s.validPrivilegeV1(priv, e.GetObject().GetName()); err != nil {
			return err
		}
		g := rbac.Grant{Role: e.GetRole().GetName(), Object: e.GetObject().GetName(), DB: e.GetDbName(), ObjectName: e.GetObjectName(),
			Privilege: priv, Grantor: grantor(ctx)}
		if g.DB == "" {
			g.DB = auth.ConnectedDB(ctx)
		}
		if g.Object == rbac.ObjectGlobal && !isBuiltinGroup(priv) {
			g.ObjectName = rbac.Any
		}
		return s.putGrantWithRelated(ctx, g, req.GetType() == milvuspb.OperatePrivilegeType_Grant)
	})
}

// checkOperate is rootcoord's operatePrivilegeCommonCheck.
func (s *Service) checkOperate(t milvuspb.OperatePrivilegeType, role, user string) error {
	if t != milvuspb.OperatePrivilegeType_Grant && t != milvuspb.OperatePrivilegeType_Revoke {
		return errs.Plain("invalid operate privilege type, current type: %s, valid value: [%s, %s]", t, milvuspb.OperatePrivilegeType_Grant, milvuspb.OperatePrivilegeType_Revoke)
	}
	if !s.acl.HasRole(role) {
		return errs.Plain("not found the role, maybe the role isn't existed or internal system error")
	}
	if !s.acl.HasUser(user) {
		return errs.Plain("not found the user, maybe the user isn't existed or internal system error")
	}
	return nil
}

// validPrivilegeV1 is rootcoord's isValidPrivilege: v1 grants name one
// privilege of the object type (or "*"), never a v2 group.
func (s *Service) validPrivilegeV1(priv, object string) error {
	if priv == rbac.Any {
		return nil
	}
	if _, ok := s.acl.Group(priv); ok {
		return errs.Plain("can not operate the custom privilege group [%s]", priv)
	}
	for _, g := range rbac.BuiltinGroups {
		if g.Name == priv {
			return errs.Plain("can not operate the built-in privilege group [%s]", priv)
		}
	}
	if rbac.Defined(priv) && slices.Contains(rbac.ObjectPrivileges(object), priv) {
		return nil
	}
	return errs.Plain("not found the privilege name[%s] in object[%s]", priv, object)
}

func isBuiltinGroup(name string) bool {
	_, ok := rbac.BuiltinGroupPrivileges(name)
	return ok
}

func (s *Service) putGrantWithRelated(ctx context.Context, g rbac.Grant, grant bool) error {
	if err := s.acl.PutGrant(ctx, g, grant); err != nil {
		return err
	}
	for _, rel := range rbac.Related(g.Privilege) {
		r := g
		r.Privilege = rel
		if err := s.acl.PutGrant(ctx, r, grant); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) OperatePrivilegeV2(ctx context.Context, req *milvuspb.OperatePrivilegeV2Request) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.OperatePrivilegeV2Request) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		if req.GetRole() == nil {
			return errs.InvalidParameter("the role in the request is nil")
		}
		if err := rbac.ValidateRoleName(req.GetRole().GetName()); err != nil {
			return err
		}
		priv := req.GetGrantor().GetPrivilege().GetName()
		if err := rbac.ValidatePrivilege(priv); err != nil {
			return err
		}
		if req.GetType() != milvuspb.OperatePrivilegeType_Grant && req.GetType() != milvuspb.OperatePrivilegeType_Revoke {
			return errs.InvalidParameter("the type in the request not grant or revoke")
		}
		if db := req.GetDbName(); db != "" && db != rbac.Any {
			if err := rbac.ValidateDatabaseName(db); err != nil {
				return err
			}
		}
		if err := rbac.ValidateCollectionName(req.GetCollectionName()); err != nil {
			return err
		}
		if err := s.checkOperate(req.GetType(), req.GetRole().GetName(), grantor(ctx)); err != nil {
			return err
		}
		// rootcoord's isValidPrivilegeV2 and validatePrivilegeGroupParams.
		if priv != rbac.Any {
			members, custom := s.acl.Group(priv)
			if !custom && !rbac.Defined(priv) {
				return errs.Plain("not found the privilege name[%s]", priv)
			}
			if !custom {
				members, _ = rbac.BuiltinGroupPrivileges(priv)
			}
			if len(members) > 0 {
				if err := rbac.CheckLevel(priv, rbac.Level(members[0]), req.GetDbName(), req.GetCollectionName()); err != nil {
					return err
				}
			}
		}
		// The object type comes from the privilege, as rootcoord stores v2
		// grants (so v1 and v2 grant and revoke the same entries).
		g := rbac.Grant{Role: req.GetRole().GetName(), Object: rbac.ObjectTypeOf(priv), DB: req.GetDbName(), ObjectName: req.GetCollectionName(),
			Privilege: priv, Grantor: grantor(ctx)}
		if g.DB == "" {
			g.DB = auth.ConnectedDB(ctx)
		}
		return s.putGrantWithRelated(ctx, g, req.GetType() == milvuspb.OperatePrivilegeType_Grant)
	})
}

func (s *Service) SelectGrant(ctx context.Context, req *milvuspb.SelectGrantRequest) (*milvuspb.SelectGrantResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.SelectGrantRequest) (*milvuspb.SelectGrantResponse, error) {
		if err := s.rbacReady(); err != nil {
			return nil, err
		}
		e := req.GetEntity()
		if e == nil {
			return nil, errs.InvalidParameter("the grant entity in the request is nil")
		}
		if e.GetObject() != nil {
			if err := rbac.ValidateObjectType(e.GetObject().GetName()); err != nil {
				return nil, err
			}
			if err := rbac.ValidateObjectName(e.GetObjectName()); err != nil {
				return nil, err
			}
		}
		if e.GetRole() == nil {
			return nil, errs.InvalidParameter("the role entity in the grant entity is nil")
		}
		if err := rbac.ValidateRoleName(e.GetRole().GetName()); err != nil {
			return nil, err
		}
		if !s.acl.HasRole(e.GetRole().GetName()) {
			return nil, errs.Plain("not found the role, maybe the role isn't existed or internal system error")
		}
		// No database: the connected one; "*": every database.
		db := e.GetDbName()
		switch db {
		case "":
			db = auth.ConnectedDB(ctx)
		case rbac.Any:
			db = ""
		}
		resp := &milvuspb.SelectGrantResponse{}
		for _, g := range s.acl.Grants(e.GetRole().GetName(), e.GetObject().GetName(), e.GetObjectName(), db) {
			resp.Entities = append(resp.Entities, rbac.GrantEntity(g))
		}
		return resp, nil
	}, func() *milvuspb.SelectGrantResponse { return &milvuspb.SelectGrantResponse{} })
}

func (s *Service) CreatePrivilegeGroup(ctx context.Context, req *milvuspb.CreatePrivilegeGroupRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.CreatePrivilegeGroupRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		name := req.GetGroupName()
		if err := rbac.ValidatePrivilegeGroupName(name); err != nil {
			return err
		}
		if _, ok := s.acl.Group(name); ok {
			return errs.InvalidParameter("privilege group name [%s] is defined by users", name)
		}
		if rbac.Defined(name) {
			return errs.InvalidParameter("privilege group name [%s] is defined by built in privileges or privilege groups in system", name)
		}
		return s.acl.CreateGroup(ctx, name)
	})
}

func (s *Service) DropPrivilegeGroup(ctx context.Context, req *milvuspb.DropPrivilegeGroupRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.DropPrivilegeGroupRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		name := req.GetGroupName()
		if err := rbac.ValidatePrivilegeGroupName(name); err != nil {
			return err
		}
		if _, ok := s.acl.Group(name); !ok {
			return nil // Milvus skips dropping what is not a custom group
		}
		return s.acl.DropGroup(ctx, name)
	})
}

func (s *Service) ListPrivilegeGroups(ctx context.Context, req *milvuspb.ListPrivilegeGroupsRequest) (*milvuspb.ListPrivilegeGroupsResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.ListPrivilegeGroupsRequest) (*milvuspb.ListPrivilegeGroupsResponse, error) {
		if err := s.rbacReady(); err != nil {
			return nil, err
		}
		resp := &milvuspb.ListPrivilegeGroupsResponse{}
		for _, g := range rbac.BuiltinGroups {
			resp.PrivilegeGroups = append(resp.PrivilegeGroups, rbac.GroupInfo(g.Name, g.Privileges))
		}
		for _, g := range s.acl.Backup().GetPrivilegeGroups() {
			resp.PrivilegeGroups = append(resp.PrivilegeGroups, g)
		}
		return resp, nil
	}, func() *milvuspb.ListPrivilegeGroupsResponse { return &milvuspb.ListPrivilegeGroupsResponse{} })
}

func (s *Service) OperatePrivilegeGroup(ctx context.Context, req *milvuspb.OperatePrivilegeGroupRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.OperatePrivilegeGroupRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		name := req.GetGroupName()
		if err := rbac.ValidatePrivilegeGroupName(name); err != nil {
			return err
		}
		for _, p := range req.GetPrivileges() {
			if err := rbac.ValidatePrivilege(p.GetName()); err != nil {
				return err
			}
		}
		current, ok := s.acl.Group(name)
		if !ok {
			return errs.InvalidParameter("there is no privilege group name [%s] defined in system to operate", name)
		}
		if len(req.GetPrivileges()) == 0 {
			return errs.InvalidParameter("privileges is empty when alter the privilege group")
		}
		groups := s.acl.Groups()
		var names []string
		for _, p := range req.GetPrivileges() {
			if _, custom := groups[p.GetName()]; !custom && !rbac.Defined(p.GetName()) {
				return errs.InvalidParameter("there is no privilege name or privilege group name [%s] defined in system to operate", p.GetName())
			}
			names = append(names, p.GetName())
		}
		switch req.GetType() {
		case milvuspb.OperatePrivilegeGroupType_AddPrivilegesToGroup:
			levels := map[string]bool{}
			for _, p := range append(slices.Clone(current), names...) {
				levels[rbac.Level(p)] = true
			}
			if len(levels) > 1 {
				return errs.InvalidParameter("privileges are not the same privilege level")
			}
			for _, n := range names {
				if !slices.Contains(current, n) {
					current = append(current, n)
				}
			}
		case milvuspb.OperatePrivilegeGroupType_RemovePrivilegesFromGroup:
			current = slices.DeleteFunc(current, func(p string) bool { return slices.Contains(names, p) })
		default:
			return errs.Plain("invalid operate privilege group type")
		}
		return s.acl.SetGroup(ctx, name, current)
	})
}

func (s *Service) BackupRBAC(ctx context.Context, req *milvuspb.BackupRBACMetaRequest) (*milvuspb.BackupRBACMetaResponse, error) {
	return reply(ctx, req, func(ctx context.Context, req *milvuspb.BackupRBACMetaRequest) (*milvuspb.BackupRBACMetaResponse, error) {
		if err := s.rbacReady(); err != nil {
			return nil, err
		}
		return &milvuspb.BackupRBACMetaResponse{RBACMeta: s.acl.Backup()}, nil
	}, func() *milvuspb.BackupRBACMetaResponse { return &milvuspb.BackupRBACMetaResponse{} })
}

func (s *Service) RestoreRBAC(ctx context.Context, req *milvuspb.RestoreRBACMetaRequest) (*commonpb.Status, error) {
	return status(ctx, req, func(ctx context.Context, req *milvuspb.RestoreRBACMetaRequest) error {
		if err := s.rbacReady(); err != nil {
			return err
		}
		if req.GetRBACMeta() == nil {
			return nil
		}
		return s.acl.Restore(ctx, req.GetRBACMeta())
	})
}

// visible filters ShowCollections (db set) and ListDatabases (db "") to
// what the caller may see, as Milvus's root coordinator does when
// authorization is on.
func (s *Service) visible(ctx context.Context, db string) func(string) bool {
	user := auth.User(ctx)
	if s.acl == nil || user == "" {
		return func(string) bool { return true }
	}
	names, all := s.acl.Visible(user, db)
	return func(name string) bool { return all || names[name] }
}

// keep filters the parallel slices of a listing to the indexes where ok.
func keep[T any](s []T, n int, ok []bool) []T {
	if len(s) != n {
		return s
	}
	out := s[:0:0]
	for i, v := range s {
		if ok[i] {
			out = append(out, v)
		}
	}
	return out
}

func (s *Service) filterCollections(ctx context.Context, req *milvuspb.ShowCollectionsRequest, resp *milvuspb.ShowCollectionsResponse) *milvuspb.ShowCollectionsResponse {
	if resp.GetStatus().GetCode() != 0 || auth.User(ctx) == "" {
		return resp
	}
	db := req.GetDbName()
	if db == "" {
		db = auth.ConnectedDB(ctx)
	}
	see := s.visible(ctx, db)
	n := len(resp.CollectionNames)
	ok := make([]bool, n)
	for i, name := range resp.CollectionNames {
		ok[i] = see(name)
	}
	resp.CollectionIds = keep(resp.CollectionIds, n, ok)
	resp.CreatedTimestamps = keep(resp.CreatedTimestamps, n, ok)
	resp.CreatedUtcTimestamps = keep(resp.CreatedUtcTimestamps, n, ok)
	resp.InMemoryPercentages = keep(resp.InMemoryPercentages, n, ok)
	resp.QueryServiceAvailable = keep(resp.QueryServiceAvailable, n, ok)
	resp.ShardsNum = keep(resp.ShardsNum, n, ok)
	resp.CollectionNames = keep(resp.CollectionNames, n, ok)
	return resp
}

func (s *Service) filterDatabases(ctx context.Context, resp *milvuspb.ListDatabasesResponse) *milvuspb.ListDatabasesResponse {
	if resp.GetStatus().GetCode() != 0 || auth.User(ctx) == "" {
		return resp
	}
	see := s.visible(ctx, "")
	n := len(resp.DbNames)
	ok := make([]bool, n)
	for i, name := range resp.DbNames {
		ok[i] = see(name)
	}
	resp.CreatedTimestamp = keep(resp.CreatedTimestamp, n, ok)
	resp.DbIds = keep(resp.DbIds, n, ok)
	resp.DbNames = keep(resp.DbNames, n, ok)
	return resp
}
