package rbac

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
)

const (
	prefix       = "rbac/"
	credPrefix   = prefix + "cred/"
	rolePrefix   = prefix + "role/"
	bindPrefix   = prefix + "user-role/"
	grantPrefix  = prefix + "grant/"
	groupPrefix  = prefix + "group/"
	reloadPeriod = time.Minute // a safety net beside the watch
)

// bcryptCost is the password hashing cost (Milvus's: bcrypt.DefaultCost).
// Tests of this package lower it.
var bcryptCost = bcrypt.DefaultCost

// Grant is one privilege granted to a role on an object.
type Grant struct {
	Role       string `json:"role"`
	Object     string `json:"object"` // object type: Global, Collection, User, Database
	DB         string `json:"db"`
	ObjectName string `json:"objectName"`
	Privilege  string `json:"privilege"` // API name, a group name or "*"
	Grantor    string `json:"grantor"`
}

func (g Grant) key() string {
	return grantPrefix + strings.Join([]string{g.Role, g.Object, g.DB, g.ObjectName, g.Privilege}, "/")
}

type credential struct {
	Hash    string `json:"hash"`
	Created int64  `json:"created"`
}

type group struct {
	Privileges []string `json:"privileges"`
}

// snapshot is the whole model, immutable once built.
type snapshot struct {
	creds  map[string]credential
	roles  map[string]bool
	binds  map[string][]string // user -> roles, sorted
	grants map[string][]Grant  // role -> grants, sorted by key
	groups map[string][]string // custom groups
}

// Store is the RBAC model over the meta store, with an in-memory snapshot
// for the request path. It is safe for concurrent use.
type Store struct {
	kv     kv.Store
	logger *slog.Logger

	mu       sync.RWMutex
	snap     *snapshot
	verified map[string][32]byte // user NUL bcrypt hash -> sha256 of the password that matched it
	opts     Options
}

// Open loads the model from the meta store.
func Open(ctx context.Context, store kv.Store, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{kv: store, logger: logger.With("component", "rbac"), verified: map[string][32]byte{}}
	if _, err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Bootstrap creates what Milvus has at first start: the root user with
// rootPassword and the built-in roles. Existing entries are kept, so a
// changed root password survives restarts.
func (s *Store) Bootstrap(ctx context.Context, rootPassword string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(rootPassword), bcryptCost)
	if err != nil {
		return fmt.Errorf("rbac: hash root password: %w", err)
	}
	v, _ := json.Marshal(credential{Hash: string(hash), Created: time.Now().Unix()})
	if _, err := s.kv.Txn(ctx, []kv.Cond{{Key: credPrefix + UserRoot}}, []kv.Op{{Key: credPrefix + UserRoot, Value: v}}); err != nil {
		return fmt.Errorf("rbac: create root: %w", err)
	}
	for _, r := range []string{RoleAdmin, RolePublic} {
		if _, err := s.kv.Txn(ctx, []kv.Cond{{Key: rolePrefix + r}}, []kv.Op{{Key: rolePrefix + r, Value: []byte("{}")}}); err != nil {
			return fmt.Errorf("rbac: create role %s: %w", r, err)
		}
	}
	// Milvus's initPublicRolePrivilege (common.security.enablePublicPrivilege,
	// default true): every user may describe collections, list aliases
	// and read index details. Granted at every start, as Milvus does;
	// with it off nothing is granted (grants made earlier stay, as in
	// Milvus, until revoked).
	for _, g := range publicGrants {
		if s.options().NoPublicPrivilege {
			break
		}
		v, _ := json.Marshal(g)
		if _, err := s.kv.Put(ctx, g.key(), v); err != nil {
			return fmt.Errorf("rbac: grant %s to public: %w", g.Privilege, err)
		}
	}
	_, err = s.reload(ctx)
	return err
}

// publicGrants are the public role's built-in grants.
var publicGrants = []Grant{
	{Role: RolePublic, Object: ObjectGlobal, DB: Any, ObjectName: Any, Privilege: "DescribeCollection", Grantor: UserRoot},
	{Role: RolePublic, Object: ObjectGlobal, DB: Any, ObjectName: Any, Privilege: "ListAliases", Grantor: UserRoot},
	{Role: RolePublic, Object: ObjectCollection, DB: Any, ObjectName: Any, Privilege: "IndexDetail", Grantor: UserRoot},
}

// Run keeps the snapshot current with changes made by other proxies until
// ctx ends: it watches rbac/ and reloads on every change (and every
// minute, in case a watch broke silently).
func (s *Store) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		rev, err := s.reload(ctx)
		if err != nil {
			s.logger.Warn("reload rbac meta", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.watch(ctx, rev)
	}
	return nil
}

func (s *Store) watch(ctx context.Context, rev int64) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := s.kv.Watch(wctx, prefix, rev)
	tick := time.NewTicker(reloadPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			// Drain what is queued, then reload once.
			for drained := false; !drained; {
				select {
				case _, ok := <-events:
					if !ok {
						return
					}
				default:
					drained = true
				}
			}
			if _, err := s.reload(ctx); err != nil {
				s.logger.Warn("reload rbac meta", "err", err)
				return
			}
		}
	}
}

// reload reads the whole model and swaps the snapshot; it returns the
// revision it read at.
func (s *Store) reload(ctx context.Context) (int64, error) {
	kvs, rev, err := s.kv.ListWithRevision(ctx, prefix)
	if err != nil {
		return 0, fmt.Errorf("rbac: read meta: %w", err)
	}
	n := &snapshot{creds: map[string]credential{}, roles: map[string]bool{}, binds: map[string][]string{},
		grants: map[string][]Grant{}, groups: map[string][]string{}}
	for _, e := range kvs {
		switch {
		case strings.HasPrefix(e.Key, credPrefix):
			var c credential
			if err := json.Unmarshal(e.Value, &c); err != nil {
				return 0, fmt.Errorf("rbac: decode %s: %w", e.Key, err)
			}
			n.creds[strings.TrimPrefix(e.Key, credPrefix)] = c
		case strings.HasPrefix(e.Key, rolePrefix):
			n.roles[strings.TrimPrefix(e.Key, rolePrefix)] = true
		case strings.HasPrefix(e.Key, bindPrefix):
			user, role, ok := strings.Cut(strings.TrimPrefix(e.Key, bindPrefix), "/")
			if ok {
				n.binds[user] = append(n.binds[user], role)
			}
		case strings.HasPrefix(e.Key, grantPrefix):
			var g Grant
			if err := json.Unmarshal(e.Value, &g); err != nil {
				return 0, fmt.Errorf("rbac: decode %s: %w", e.Key, err)
			}
			n.grants[g.Role] = append(n.grants[g.Role], g)
		case strings.HasPrefix(e.Key, groupPrefix):
			var g group
			if err := json.Unmarshal(e.Value, &g); err != nil {
				return 0, fmt.Errorf("rbac: decode %s: %w", e.Key, err)
			}
			n.groups[strings.TrimPrefix(e.Key, groupPrefix)] = g.Privileges
		}
	}
	s.mu.Lock()
	s.snap = n
	for k := range s.verified {
		// Forget verifications of deleted users and of replaced hashes.
		if u, h, _ := strings.Cut(k, "\x00"); n.creds[u].Hash != h {
			delete(s.verified, k)
		}
	}
	s.mu.Unlock()
	return rev, nil
}

func (s *Store) current() *snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap
}

func passwordSum(user, password string) [32]byte {
	return sha256.Sum256([]byte(user + "\x00" + password))
}

// Authenticate reports whether password is user's. A bcrypt comparison
// costs tens of milliseconds, so a password that matched is remembered (as
// a SHA-256) until the user's hash changes.
func (s *Store) Authenticate(user, password string) bool {
	s.mu.RLock()
	c, ok := s.snap.creds[user]
	sum, seen := s.verified[user+"\x00"+c.Hash]
	s.mu.RUnlock()
	if !ok {
		return false
	}
	want := passwordSum(user, password)
	if seen && sum == want {
		return true
	}
	if bcrypt.CompareHashAndPassword([]byte(c.Hash), []byte(password)) != nil {
		return false
	}
	s.mu.Lock()
	s.verified[user+"\x00"+c.Hash] = want
	s.mu.Unlock()
	return true
}

// HasUser reports whether user exists.
func (s *Store) HasUser(user string) bool {
	_, ok := s.current().creds[user]
	return ok
}

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, user, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("encrypt password failed: %w", err)
	}
	v, _ := json.Marshal(credential{Hash: string(hash), Created: time.Now().Unix()})
	ok, err := s.kv.Txn(ctx, []kv.Cond{{Key: credPrefix + user}}, []kv.Op{{Key: credPrefix + user, Value: v}})
	if err != nil {
		return fmt.Errorf("rbac: create user: %w", err)
	}
	if !ok {
		return errs.Plain("user already exists: %s", user)
	}
	_, err = s.reload(ctx)
	return err
}

// UpdatePassword sets user's password; the user must exist.
func (s *Store) UpdatePassword(ctx context.Context, user, password string) error {
	cur, err := s.kv.Get(ctx, credPrefix+user)
	if errors.Is(err, kv.ErrNotFound) {
		return errs.Plain("found no credential:%s", user)
	}
	if err != nil {
		return fmt.Errorf("rbac: read user: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("encrypt password failed: %w", err)
	}
	v, _ := json.Marshal(credential{Hash: string(hash), Created: time.Now().Unix()})
	if _, err := s.kv.Txn(ctx, []kv.Cond{{Key: cur.Key, Revision: cur.Revision}}, []kv.Op{{Key: credPrefix + user, Value: v}}); err != nil {
		return fmt.Errorf("rbac: update user: %w", err)
	}
	_, err = s.reload(ctx)
	return err
}

// DeleteUser removes a user and its role bindings; a missing user is not
// an error (Milvus is idempotent here).
func (s *Store) DeleteUser(ctx context.Context, user string) error {
	if _, err := s.kv.Txn(ctx, nil, []kv.Op{{Key: credPrefix + user, Delete: true},
		{Key: bindPrefix + user + "/", Delete: true, DeletePrefix: true}}); err != nil {
		return fmt.Errorf("rbac: delete user: %w", err)
	}
	_, err := s.reload(ctx)
	return err
}

// Users lists the users, sorted.
func (s *Store) Users() []string {
	snap := s.current()
	out := make([]string, 0, len(snap.creds))
	for u := range snap.creds {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// RolesOf lists user's roles, sorted.
func (s *Store) RolesOf(user string) []string { return slices.Clone(s.current().binds[user]) }

// Roles lists the roles, sorted.
func (s *Store) Roles() []string {
	snap := s.current()
	out := make([]string, 0, len(snap.roles))
	for r := range snap.roles {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// HasRole reports whether role exists.
func (s *Store) HasRole(role string) bool { return s.current().roles[role] }

// UsersOf lists the users bound to role, sorted.
func (s *Store) UsersOf(role string) []string {
	snap := s.current()
	var out []string
	for u, roles := range snap.binds {
		if slices.Contains(roles, role) {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// CreateRole adds a role.
func (s *Store) CreateRole(ctx context.Context, role string) error {
	ok, err := s.kv.Txn(ctx, []kv.Cond{{Key: rolePrefix + role}}, []kv.Op{{Key: rolePrefix + role, Value: []byte("{}")}})
	if err != nil {
		return fmt.Errorf("rbac: create role: %w", err)
	}
	if !ok {
		return errs.Plain("role [name:%q] already exists", role)
	}
	_, err = s.reload(ctx)
	return err
}

// DropRole removes a role, its bindings and (with force) its grants.
// Without force a role that still has grants is refused, as Milvus does.
func (s *Store) DropRole(ctx context.Context, role string, force bool) error {
	snap := s.current()
	if !snap.roles[role] {
		return errs.Plain("not found the role, maybe the role isn't existed or internal system error")
	}
	if len(snap.grants[role]) > 0 && !force {
		return errs.Plain("fail to drop the role that it has privileges. Use REVOKE API to revoke privileges")
	}
	ops := []kv.Op{{Key: rolePrefix + role, Delete: true}, {Key: grantPrefix + role + "/", Delete: true, DeletePrefix: true}}
	for u, roles := range snap.binds {
		if slices.Contains(roles, role) {
			ops = append(ops, kv.Op{Key: bindPrefix + u + "/" + role, Delete: true})
		}
	}
	if _, err := s.kv.Txn(ctx, nil, ops); err != nil {
		return fmt.Errorf("rbac: drop role: %w", err)
	}
	_, err := s.reload(ctx)
	return err
}

// BindRole adds (add) or removes a user-role binding.
func (s *Store) BindRole(ctx context.Context, user, role string, add bool) error {
	snap := s.current()
	if !snap.roles[role] {
		return errs.Plain("not found the role, maybe the role isn't existed or internal system error")
	}
	if add {
		if _, ok := snap.creds[user]; !ok {
			return errs.Plain("not found the user, maybe the user isn't existed or internal system error")
		}
		if _, err := s.kv.Put(ctx, bindPrefix+user+"/"+role, []byte("{}")); err != nil {
			return fmt.Errorf("rbac: bind role: %w", err)
		}
	} else if err := s.kv.Delete(ctx, bindPrefix+user+"/"+role); err != nil {
		return fmt.Errorf("rbac: unbind role: %w", err)
	}
	_, err := s.reload(ctx)
	return err
}

// PutGrant stores (grant) or deletes a grant. Granting twice and revoking
// what is not granted are not errors.
func (s *Store) PutGrant(ctx context.Context, g Grant, grant bool) error {
	if !s.HasRole(g.Role) {
		return errs.Plain("not found the role, maybe the role isn't existed or internal system error")
	}
	var err error
	if grant {
		v, _ := json.Marshal(g)
		_, err = s.kv.Put(ctx, g.key(), v)
	} else {
		err = s.kv.Delete(ctx, g.key())
	}
	if err != nil {
		return fmt.Errorf("rbac: operate privilege: %w", err)
	}
	_, err = s.reload(ctx)
	return err
}

// Grants returns role's grants (every role's for ""), filtered by object
// type and name when they are set, sorted.
func (s *Store) Grants(role, object, objectName, db string) []Grant {
	snap := s.current()
	var out []Grant
	for r, gs := range snap.grants {
		if role != "" && r != role {
			continue
		}
		for _, g := range gs {
			if object != "" && g.Object != object {
				continue
			}
			if objectName != "" && g.ObjectName != objectName {
				continue
			}
			if db != "" && g.DB != db && g.DB != Any { // a grant on every database shows in each
				continue
			}
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// Group returns a custom group's privileges.
func (s *Store) Group(name string) ([]string, bool) {
	p, ok := s.current().groups[name]
	return slices.Clone(p), ok
}

// Groups returns the custom groups.
func (s *Store) Groups() map[string][]string {
	snap := s.current()
	out := make(map[string][]string, len(snap.groups))
	for k, v := range snap.groups {
		out[k] = slices.Clone(v)
	}
	return out
}

// CreateGroup adds an empty custom privilege group.
func (s *Store) CreateGroup(ctx context.Context, name string) error {
	v, _ := json.Marshal(group{Privileges: []string{}})
	ok, err := s.kv.Txn(ctx, []kv.Cond{{Key: groupPrefix + name}}, []kv.Op{{Key: groupPrefix + name, Value: v}})
	if err != nil {
		return fmt.Errorf("rbac: create privilege group: %w", err)
	}
	if !ok {
		return errs.InvalidParameter("privilege group [%s] already exists", name)
	}
	_, err = s.reload(ctx)
	return err
}

// DropGroup removes a custom group that no role is granted.
func (s *Store) DropGroup(ctx context.Context, name string) error {
	snap := s.current()
	for role, gs := range snap.grants {
		for _, g := range gs {
			if g.Privilege == name {
				return errs.InvalidParameter("privilege group [%s] is used by role [%s], Use REVOKE API to revoke it first", name, role)
			}
		}
	}
	if err := s.kv.Delete(ctx, groupPrefix+name); err != nil {
		return fmt.Errorf("rbac: drop privilege group: %w", err)
	}
	_, err := s.reload(ctx)
	return err
}

// SetGroup replaces a custom group's privileges.
func (s *Store) SetGroup(ctx context.Context, name string, privileges []string) error {
	v, _ := json.Marshal(group{Privileges: privileges})
	if _, err := s.kv.Put(ctx, groupPrefix+name, v); err != nil {
		return fmt.Errorf("rbac: operate privilege group: %w", err)
	}
	_, err := s.reload(ctx)
	return err
}
