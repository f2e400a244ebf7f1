package rbac

import "slices"

// Request is what one API call needs: a privilege on an object.
type Request struct {
	Object     string // object type: Global, Collection, User
	Privilege  string // API name: Load, CreateCollection, ...
	DB         string // the request's database
	ObjectName string // "*" for requests naming no object
}

// Allowed reports whether any of roles (the user's roles; public is
// always added) may do req. It is Milvus's casbin model:
//
//	r.sub == p.sub && globMatch(r.obj, p.obj) && globMatch(r.act, p.act)
//	|| r.sub == "admin"
//	|| r.sub == p.sub && dbMatch(r.obj, p.obj) && privilegeGroupContains(r.act, p.act, r.obj, p.obj)
//
// with privilege groups (built-in and custom) expanded into their
// privileges, as Milvus's root coordinator does before the proxy caches
// the policy.
func (s *Store) Allowed(roles []string, req Request) bool {
	if req.DB == "" {
		req.DB = DefaultDB
	}
	snap := s.current()
	roles = append(slices.Clone(roles), RolePublic)
	for _, role := range roles {
		if role == RoleAdmin {
			return true
		}
		for _, g := range snap.grants[role] {
			if s.grantAllows(snap, g, req) {
				return true
			}
		}
	}
	return false
}

func (s *Store) grantAllows(snap *snapshot, g Grant, req Request) bool {
	dbMatch := g.DB == Any || g.DB == req.DB || (g.DB == "" && req.DB == DefaultDB)
	if !dbMatch {
		return false
	}
	nameMatch := func(objectType string) bool {
		if objectType == ObjectGlobal {
			return true // a global privilege names no object
		}
		return g.ObjectName == Any || req.ObjectName == Any || g.ObjectName == req.ObjectName
	}
	switch g.Privilege {
	case Any:
		// globMatch: the object type and name must match the request.
		return g.Object == req.Object && (g.ObjectName == Any || g.ObjectName == req.ObjectName)
	case "All":
		return true
	case "ReadOnly":
		return nameMatch(ObjectCollection) && slices.Contains(legacyReadOnly, req.Privilege)
	case "ReadWrite":
		return nameMatch(ObjectCollection) && slices.Contains(legacyReadWrite, req.Privilege)
	case "Admin":
		return slices.Contains(legacyAdmin, req.Privilege)
	}
	if privs, ok := builtinGroup(g.Privilege); ok {
		return slices.Contains(privs, req.Privilege) && nameMatch(ObjectTypeOf(req.Privilege))
	}
	if privs, ok := snap.groups[g.Privilege]; ok {
		return slices.Contains(privs, req.Privilege) && nameMatch(ObjectTypeOf(req.Privilege))
	}
	if g.Privilege != req.Privilege {
		return false
	}
	return nameMatch(ObjectTypeOf(req.Privilege))
}

// Visible is Milvus's getCurrentUserVisibleDatabases (db == "") or
// getCurrentUserVisibleCollections (db set): the names user may see in
// ListDatabases / ShowCollections, or all. Root and admin see all; the
// public role's grants do not count.
func (s *Store) Visible(user, db string) (names map[string]bool, all bool) {
	if s.Unrestricted(user) {
		return nil, true
	}
	snap := s.current()
	names = map[string]bool{}
	for _, role := range snap.binds[user] {
		if role == RoleAdmin {
			return nil, true
		}
		if role == RolePublic {
			continue
		}
		for _, g := range snap.grants[role] {
			if db == "" {
				if g.DB == Any {
					return nil, true
				}
				names[g.DB] = true
				continue
			}
			if g.DB != db && g.DB != Any {
				continue
			}
			if g.Object == ObjectGlobal && g.Privilege == "All" {
				return nil, true
			}
			if g.Object != ObjectCollection {
				_, custom := snap.groups[g.Privilege]
				if !custom && g.Privilege != "CollectionReadOnly" && g.Privilege != "CollectionReadWrite" && g.Privilege != "CollectionAdmin" {
					continue
				}
			}
			if g.ObjectName == Any {
				return nil, true
			}
			names[g.ObjectName] = true
		}
	}
	return names, false
}
