package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/milvago/milvago/internal/rbac"
)

// Guard checks credentials and privileges against the RBAC model. A nil
// or disabled Guard lets everything through (authorizationEnabled off).
type Guard struct {
	store   *rbac.Store
	enabled bool
	logger  *slog.Logger
}

// New returns a guard; enabled is common.security.authorizationEnabled.
func New(store *rbac.Store, enabled bool, logger *slog.Logger) *Guard {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{store: store, enabled: enabled, logger: logger.With("component", "auth")}
}

// Enabled reports whether calls must authenticate.
func (g *Guard) Enabled() bool { return g != nil && g.enabled }

type ctxKey int

const userKey ctxKey = 0

// WithUser returns a context carrying the authenticated user.
func WithUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey, user)
}

// User returns the authenticated user ("" when authentication is off).
func User(ctx context.Context) string {
	u, _ := ctx.Value(userKey).(string)
	return u
}

// The authentication failures, Milvus's texts (gRPC Unauthenticated).
var (
	errMissingAuth = grpcstatus.Error(codes.Unauthenticated, "missing authorization in header")
	errBadToken    = grpcstatus.Error(codes.Unauthenticated, "invalid token format")
	errBadPassword = grpcstatus.Error(codes.Unauthenticated, "auth check failure, please check username and password are correct")
	errBadAPIKey   = grpcstatus.Error(codes.Unauthenticated, "auth check failure, please check api key is correct")
)

// Verify checks a raw "user:password" token and returns the user.
func (g *Guard) Verify(raw string) (string, error) {
	user, password, ok := strings.Cut(raw, ":")
	if !ok {
		// Milvus OSS has no API-key verifier: a token without a colon fails.
		return "", errBadAPIKey
	}
	if !g.store.Authenticate(user, password) {
		return "", errBadPassword
	}
	return user, nil
}

// milvusService prefixes the methods of Milvus's public API, the ones
// authenticated here. Other services (gRPC health) pass; Milvago's internal
// services are not on the public port (a cluster proxy serves them on
// proxy.internalPort, as Milvus).
const milvusService = "/milvus.proto.milvus.MilvusService/"

// UnaryInterceptor authenticates the caller from the "authorization"
// metadata and checks the privilege the request needs.
func (g *Guard) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !g.Enabled() || !strings.HasPrefix(info.FullMethod, milvusService) {
		return handler(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	tokens := md.Get("authorization")
	if len(tokens) == 0 {
		return nil, errMissingAuth
	}
	raw, err := base64.StdEncoding.DecodeString(tokens[0])
	if err != nil {
		return nil, errBadToken
	}
	user, err := g.Verify(string(raw))
	if err != nil {
		g.logger.Debug("authentication failed", "method", info.FullMethod, "err", err)
		return nil, err
	}
	ctx = WithUser(ctx, user)
	db := ""
	if dbs := md.Get("dbname"); len(dbs) > 0 {
		db = dbs[0]
	}
	if err := g.Authorize(ctx, user, db, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Need is the privilege a request needs, read from the privilege_ext_obj
// option of its message (ok false: the request needs none).
type Need struct {
	Object     string   // object type
	Privilege  string   // metastore spelling: PrivilegeLoad
	Name       string   // object name ("*" when the request names none)
	Names      []string // object names, for requests on several (Flush)
	multiNames bool
}

// NeedOf reads what req needs.
func NeedOf(req any) (Need, bool) {
	m, ok := req.(proto.Message)
	if !ok {
		return Need{}, false
	}
	opts := m.ProtoReflect().Descriptor().Options()
	if opts == nil || !proto.HasExtension(opts, commonpb.E_PrivilegeExtObj) {
		return Need{}, false
	}
	ext, ok := proto.GetExtension(opts, commonpb.E_PrivilegeExtObj).(*commonpb.PrivilegeExt)
	if !ok || ext == nil {
		return Need{}, false
	}
	n := Need{Object: ext.GetObjectType().String(), Privilege: ext.GetObjectPrivilege().String(), Name: rbac.Any}
	r := m.ProtoReflect()
	if i := ext.GetObjectNameIndex(); i > 0 {
		if fd := r.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(i)); fd != nil {
			v := r.Get(fd)
			if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
				sub := v.Message()
				if nf := sub.Descriptor().Fields().ByNumber(1); nf != nil {
					v = sub.Get(nf)
				}
			}
			if s := v.String(); s != "" {
				n.Name = s
			}
		}
	}
	if i := ext.GetObjectNameIndexs(); i > 0 {
		n.multiNames = true
		if fd := r.Descriptor().Fields().ByNumber(protoreflect.FieldNumber(i)); fd != nil && fd.IsList() {
			l := r.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				n.Names = append(n.Names, l.Get(j).String())
			}
		}
	}
	return n, true
}

// dbOf is the database a request runs in, as Milvus's interceptor reads
// it: the "dbname" metadata (the SDK's connected database), else default.
// The request's own db_name is not consulted (CreateDatabase names the
// database it creates, not the one it runs in).
func dbOf(mdDB string) string {
	if mdDB != "" {
		return mdDB
	}
	return rbac.DefaultDB
}

// ConnectedDB is the caller's connected database from the gRPC metadata.
func ConnectedDB(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if dbs := md.Get("dbname"); len(dbs) > 0 {
		return dbOf(dbs[0])
	}
	return rbac.DefaultDB
}

// Authorize checks that user may make req in database db (the connected
// one; "" is default). The error is Milvus's: a gRPC
// PermissionDenied status "PrivilegeLoad: permission deny to u in the
// `db` database".
func (g *Guard) Authorize(ctx context.Context, user, db string, req any) error {
	if !g.Enabled() || g.store.Unrestricted(user) {
		return nil
	}
	need, ok := NeedOf(req)
	if !ok {
		return nil
	}
	db = dbOf(db)
	// Users may read and update themselves without a grant.
	if need.Object == rbac.ObjectUser && need.Name == user {
		return nil
	}
	roles := g.store.RolesOf(user)
	// A user may list the grants of its own roles.
	if sg, ok := req.(*milvuspb.SelectGrantRequest); ok {
		role := sg.GetEntity().GetRole().GetName()
		for _, r := range append(roles, rbac.RolePublic) {
			if r == role {
				return nil
			}
		}
	}
	privilege := strings.TrimPrefix(need.Privilege, "Privilege")
	check := func(name string) bool {
		return g.store.Allowed(roles, rbac.Request{Object: need.Object, Privilege: privilege, DB: db, ObjectName: name})
	}
	allowed := false
	if need.multiNames {
		allowed = len(need.Names) > 0
		for _, name := range need.Names {
			if !check(name) {
				allowed = false
				break
			}
		}
	} else {
		allowed = check(need.Name)
	}
	if allowed {
		return nil
	}
	g.logger.Info("permission deny", "user", user, "roles", roles, "object", need.Object, "privilege", need.Privilege, "db", db, "name", need.Name)
	return grpcstatus.Error(codes.PermissionDenied, fmt.Sprintf("%s: permission deny to %s in the `%s` database", need.Privilege, user, db))
}
