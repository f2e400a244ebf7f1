package rbac

import "slices"

// Options are common.security's switches on the model.
type Options struct {
	// RootShouldBindRole is common.security.rootShouldBindRole: root is
	// checked against its roles like any user instead of being allowed
	// everything (and seeing every database and collection).
	RootShouldBindRole bool
	// SuperUsers is common.security.superUsers: users who may change any
	// user's password without giving the old one (Milvus's only use of
	// it, UpdateCredential). They are not exempt from privileges.
	SuperUsers []string
	// NoPublicPrivilege is common.security.enablePublicPrivilege false:
	// the public role is not granted DescribeCollection, ListAliases and
	// IndexDetail at start.
	NoPublicPrivilege bool
}

// SetOptions sets the model's switches (before it serves).
func (s *Store) SetOptions(o Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = o
}

func (s *Store) options() Options {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.opts
}

// Unrestricted reports whether user is allowed everything without a
// check: root, unless common.security.rootShouldBindRole.
func (s *Store) Unrestricted(user string) bool {
	return user == UserRoot && !s.options().RootShouldBindRole
}

// SuperUser reports whether user is in common.security.superUsers.
func (s *Store) SuperUser(user string) bool {
	return user != "" && slices.Contains(s.options().SuperUsers, user)
}
