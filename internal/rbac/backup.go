package rbac

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

// Backup returns the model as Milvus's BackupRBAC does (kv_catalog.go):
// the users but root, with their password hashes and roles, the custom
// roles (not admin or public) and their grants, and the custom privilege
// groups. So a backup restores into the instance it was taken from once
// what it holds is dropped, root and the built-in roles staying.
func (s *Store) Backup() *milvuspb.RBACMeta {
	snap := s.current()
	meta := &milvuspb.RBACMeta{}
	for _, u := range s.Users() {
		if u == UserRoot {
			continue
		}
		info := &milvuspb.UserInfo{User: u, Password: snap.creds[u].Hash}
		for _, r := range snap.binds[u] {
			info.Roles = append(info.Roles, &milvuspb.RoleEntity{Name: r})
		}
		meta.Users = append(meta.Users, info)
	}
	for _, r := range s.Roles() {
		if r != RoleAdmin && r != RolePublic {
			meta.Roles = append(meta.Roles, &milvuspb.RoleEntity{Name: r})
		}
	}
	for _, g := range s.Grants("", "", "", "") {
		if g.Role != RoleAdmin && g.Role != RolePublic {
			meta.Grants = append(meta.Grants, GrantEntity(g))
		}
	}
	groups := s.Groups()
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		meta.PrivilegeGroups = append(meta.PrivilegeGroups, GroupInfo(n, groups[n]))
	}
	return meta
}

// GrantEntity renders a grant as Milvus's GrantEntity.
func GrantEntity(g Grant) *milvuspb.GrantEntity {
	return &milvuspb.GrantEntity{Role: &milvuspb.RoleEntity{Name: g.Role}, Object: &milvuspb.ObjectEntity{Name: g.Object},
		ObjectName: g.ObjectName, DbName: g.DB,
		Grantor: &milvuspb.GrantorEntity{User: &milvuspb.UserEntity{Name: g.Grantor}, Privilege: &milvuspb.PrivilegeEntity{Name: g.Privilege}}}
}

// GroupInfo renders a privilege group as Milvus's PrivilegeGroupInfo.
func GroupInfo(name string, privileges []string) *milvuspb.PrivilegeGroupInfo {
	info := &milvuspb.PrivilegeGroupInfo{GroupName: name, Privileges: []*milvuspb.PrivilegeEntity{}}
	for _, p := range privileges {
		info.Privileges = append(info.Privileges, &milvuspb.PrivilegeEntity{Name: p})
	}
	return info
}

// Restore adds a backup to the model, all or nothing. Like Milvus it
// refuses a role, group or user that exists already, a grant of an
// unknown privilege and a binding to an unknown role.
func (s *Store) Restore(ctx context.Context, meta *milvuspb.RBACMeta) error {
	if len(meta.GetRoles()) == 0 && len(meta.GetPrivilegeGroups()) == 0 && len(meta.GetGrants()) == 0 && len(meta.GetUsers()) == 0 {
		return errs.Plain("rbac meta is empty")
	}
	snap := s.current()
	roles := map[string]bool{}
	for r := range snap.roles {
		roles[r] = true
	}
	var conds []kv.Cond
	var ops []kv.Op
	for _, r := range meta.GetRoles() {
		if roles[r.GetName()] {
			return errs.Plain("role [%s] already exists", r.GetName())
		}
		roles[r.GetName()] = true
		conds = append(conds, kv.Cond{Key: rolePrefix + r.GetName()})
		ops = append(ops, kv.Op{Key: rolePrefix + r.GetName(), Value: []byte("{}")})
	}
	groups := map[string]bool{}
	for n := range snap.groups {
		groups[n] = true
	}
	for _, g := range meta.GetPrivilegeGroups() {
		if groups[g.GetGroupName()] {
			return errs.Plain("privilege group [%s] already exists", g.GetGroupName())
		}
		groups[g.GetGroupName()] = true
		var privs []string
		for _, p := range g.GetPrivileges() {
			privs = append(privs, p.GetName())
		}
		v, _ := json.Marshal(group{Privileges: privs})
		conds = append(conds, kv.Cond{Key: groupPrefix + g.GetGroupName()})
		ops = append(ops, kv.Op{Key: groupPrefix + g.GetGroupName(), Value: v})
	}
	for _, e := range meta.GetGrants() {
		priv := e.GetGrantor().GetPrivilege().GetName()
		if priv != Any && !groups[priv] && !Defined(priv) {
			return errs.Plain("privilege [%s] does not exist", priv)
		}
		g := Grant{Role: e.GetRole().GetName(), Object: e.GetObject().GetName(), DB: e.GetDbName(), ObjectName: e.GetObjectName(),
			Privilege: priv, Grantor: e.GetGrantor().GetUser().GetName()}
		if !roles[g.Role] {
			return errs.Plain("role [%s] does not exist", g.Role)
		}
		v, _ := json.Marshal(g)
		ops = append(ops, kv.Op{Key: g.key(), Value: v})
	}
	for _, u := range meta.GetUsers() {
		if _, ok := snap.creds[u.GetUser()]; ok {
			return errs.Plain("user [%s] already exists", u.GetUser())
		}
		if err := ValidateUsername(u.GetUser()); err != nil {
			return err
		}
		v, _ := json.Marshal(credential{Hash: u.GetPassword()})
		conds = append(conds, kv.Cond{Key: credPrefix + u.GetUser()})
		ops = append(ops, kv.Op{Key: credPrefix + u.GetUser(), Value: v})
		for _, r := range u.GetRoles() {
			if !roles[r.GetName()] {
				return errs.Plain("role [%s] does not exist", r.GetName())
			}
			ops = append(ops, kv.Op{Key: bindPrefix + u.GetUser() + "/" + r.GetName(), Value: []byte("{}")})
		}
	}
	ok, err := s.kv.Txn(ctx, slices.Clip(conds), ops)
	if err != nil {
		return fmt.Errorf("rbac: restore: %w", err)
	}
	if !ok {
		return errs.Plain("rbac meta changed while restoring; retry")
	}
	_, err = s.reload(ctx)
	return err
}
