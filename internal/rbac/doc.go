// Package rbac is Milvus 2.6's user and privilege model: credentials
// (bcrypt-hashed passwords), roles (the built-in admin and public, and
// custom ones), user-role bindings, grants on Global / Database / Collection
// / User objects, and privilege groups (the nine built-in ones and custom
// ones).
//
// The model lives in the meta store under rbac/ (format below), so that
// every proxy of a cluster sees the same users and grants. A Store keeps
// an in-memory snapshot of it for the hot path (authentication and the
// privilege check of every request): it reloads the snapshot after its
// own writes (read-your-writes) and whenever a watch on rbac/ reports a
// change made by another proxy.
//
// Meta store layout (values are JSON):
//
//	rbac/cred/<user>                                    {"hash": bcrypt, "created": unix seconds}
//	rbac/role/<role>                                    {}
//	rbac/user-role/<user>/<role>                        {}
//	rbac/grant/<role>/<objType>/<db>/<object>/<priv>    {"grantor": user}
//	rbac/group/<name>                                   {"privileges": [api names]}
//
// Names cannot contain "/": users, roles, groups, databases and collections
// are validated to letters, digits, "_" (and "-" "." for users), and
// object names are those or "*".
//
// Privilege names follow Milvus's API spelling ("Load", "Search",
// "CollectionReadOnly"); the catalogue (catalog.go) is Milvus's
// pkg/util/constant.go.
package rbac
