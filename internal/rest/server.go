package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/auth"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/proxy"
)

// The REST layer's own error codes (Milvus's merr, "high-level restful api").
var (
	errIncorrectFormat = &errs.Error{Code: 1801, Msg: "can only accept json format request"}
	errMissingParam    = &errs.Error{Code: 1802, Msg: "missing required parameters"}
	errInvalidData     = &errs.Error{Code: 1804, Msg: "fail to deal the insert data"}
	errCheckPK         = &errs.Error{Code: 1806, Msg: "please check the primary key and its' type can only in [int, string]"}
	// errPanic marks a recovered panic (code 5, service internal error).
	errPanic = &panicError{}
)

type panicError struct{}

func (*panicError) Error() string { return errs.ErrServiceInternal.Msg }
func (*panicError) Unwrap() error { return errs.ErrServiceInternal }

// restError is a REST-layer error rendered as Milvus does:
// "<catalogue message>, error: <detail>", or the catalogue message and a
// fixed suffix.
type restError struct {
	base   *errs.Error
	detail string
	suffix string // when set, replaces ", error: <detail>"
}

func (e *restError) Error() string {
	if e.suffix != "" {
		return e.base.Msg + e.suffix
	}
	return e.base.Msg + ", error: " + e.detail
}
func (e *restError) Unwrap() error { return e.base }

func restErr(base *errs.Error, format string, args ...any) error {
	return &restError{base: base, detail: fmt.Sprintf(format, args...)}
}

// notFoundBody is gin's default 404 body, what Milvus answers for a path or
// method it does not route.
const notFoundBody = "404 page not found"

// Header names Milvus's REST server reads.
const (
	headerAllowInt64     = "Accept-Type-Allow-Int64"
	headerDBName         = "DB-Name"
	headerRequestTimeout = "Request-Timeout"
)

const (
	// Prefix is the path every v2 endpoint starts with.
	Prefix = "/v2/vectordb"

	defaultTimeout = 30 * time.Second
	maxTimeout     = 24 * time.Hour
	// maxBodyBytes bounds one request body (Milvus: 64 MiB per request,
	// plus room for JSON's verbosity).
	maxBodyBytes = 256 << 20
	defaultDB    = "default"
)

// Handler is the REST API's http.Handler.
type Handler struct {
	p       *proxy.Server
	logger  *slog.Logger
	routes  map[string]endpoint
	guard   *auth.Guard                                                      // nil or disabled: no authentication (auth.go)
	rbac    rbacAPI                                                          // users/, roles/, privilege_groups/ (auth.go); nil: unimplemented
	lists   listAPI                                                          // collections/list, databases/list: the proxy, or the gRPC service once SetAuth (auth.go)
	observe func(path string, code int32, took time.Duration, panicked bool) // nil: none
}

// SetObserver makes h report every request to o: the endpoint's path
// (after /v2/vectordb), its Milvus code (0 for success), how long it took
// and whether it panicked. The gRPC edge uses it to count REST requests
// with its own metrics. Call it before serving.
func (h *Handler) SetObserver(o func(path string, code int32, took time.Duration, panicked bool)) {
	h.observe = o
}

// endpoint handles one path: it decodes its body, calls the proxy and
// returns the response's data (or the whole envelope, for responses with
// top-level keys besides code and data).
type endpoint func(ctx context.Context, r *call) (any, error)

// call is one request as the endpoints see it.
type call struct {
	body       []byte
	db         string // body's dbName, header's DB-Name or "default"
	allowInt64 bool
}

// envelope is a success answer with top-level keys besides "data".
type envelope map[string]any

// New returns the REST handler over a proxy. A nil logger discards.
func New(p *proxy.Server, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{p: p, lists: p, logger: logger.With("component", "rest")}
	h.routes = map[string]endpoint{
		"/collections/create":           h.createCollection,
		"/collections/list":             h.listCollections,
		"/collections/describe":         h.describeCollection,
		"/collections/has":              h.hasCollection,
		"/collections/drop":             h.dropCollection,
		"/collections/get_stats":        h.collectionStats,
		"/collections/load":             h.loadCollection,
		"/collections/release":          h.releaseCollection,
		"/collections/get_load_state":   h.loadState,
		"/collections/flush":            h.flush,
		"/common/run_analyzer":          h.runAnalyzer,
		"/collections/alter_properties": h.alterProperties,
		"/collections/drop_properties":  h.dropProperties,

		"/entities/insert": h.insert,
		"/entities/upsert": h.upsert,
		"/entities/delete": h.delete,
		"/entities/query":  h.query,
		"/entities/get":    h.get,
		"/entities/search": h.search,

		"/entities/hybrid_search":   h.hybridSearch,
		"/entities/advanced_search": h.hybridSearch,

		"/indexes/create":   h.createIndex,
		"/indexes/describe": h.describeIndex,
		"/indexes/list":     h.listIndexes,
		"/indexes/drop":     h.dropIndex,

		"/partitions/create":    h.createPartition,
		"/partitions/list":      h.listPartitions,
		"/partitions/has":       h.hasPartition,
		"/partitions/drop":      h.dropPartition,
		"/partitions/load":      h.loadPartitions,
		"/partitions/release":   h.releasePartitions,
		"/partitions/get_stats": h.partitionStats,

		"/databases/create":   h.createDatabase,
		"/databases/list":     h.listDatabases,
		"/databases/describe": h.describeDatabase,
		"/databases/drop":     h.dropDatabase,

		"/aliases/create":   h.createAlias,
		"/aliases/list":     h.listAliases,
		"/aliases/describe": h.describeAlias,
		"/aliases/drop":     h.dropAlias,
		"/aliases/alter":    h.alterAlias,

		"/segments/describe":    h.segmentsDescribe,
		"/quotacenter/describe": h.quotaCenterDescribe,
	}
	for p, ep := range h.ddl26Routes() {
		h.routes[p] = ep
	}
	for p, ep := range h.compactionRoutes() {
		h.routes[p] = ep
	}
	for p, ep := range h.functionRoutes() {
		h.routes[p] = ep
	}
	for p, ep := range h.importRoutes() {
		h.routes[p] = ep
	}
	for _, p := range unimplemented {
		h.routes[p] = func(context.Context, *call) (any, error) {
			return nil, fmt.Errorf("%s is not implemented yet: %w", Prefix+p, errs.ErrServiceUnimplemented)
		}
	}
	return h
}

// unimplemented are Milvus 2.6 endpoints Milvago does not serve yet; they
// answer code 10 rather than 404, so that a client sees why.
var unimplemented = []string{
	// users/, roles/ and privilege_groups/ are served once SetAuth gives
	// the handler the RBAC API (auth.go).
	"/users/list", "/users/describe", "/users/create", "/users/drop", "/users/update_password",
	"/users/grant_role", "/users/revoke_role",
	"/roles/list", "/roles/describe", "/roles/create", "/roles/drop", "/roles/grant_privilege",
	"/roles/revoke_privilege", "/roles/grant_privilege_v2", "/roles/revoke_privilege_v2",
	"/privilege_groups/list", "/privilege_groups/create", "/privilege_groups/drop",
	"/privilege_groups/add_privileges_to_group", "/privilege_groups/remove_privileges_from_group",
	"/resource_groups/list", "/resource_groups/describe", "/resource_groups/create",
	"/resource_groups/drop", "/resource_groups/alter", "/resource_groups/transfer_replica",
}

// ServeHTTP implements http.Handler.
//
// The steps run in the order of Milvus's gin middleware, which gin runs
// for routed and unrouted paths alike (distributed/proxy/service.go:213-227):
// RequestHandlerFunc sets the CORS headers on every answer and ends an
// OPTIONS request with 204 (httpserver/utils.go:2071-2101); then, with
// authorization on, authenticate answers 401; only then does the router
// answer 404 for a path it does not serve.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	setCORSHeaders(w.Header())
	if req.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx := req.Context()
	if h.guard.Enabled() {
		user, ok := h.authenticate(w, req)
		if !ok {
			return
		}
		ctx = auth.WithUser(ctx, user)
	}
	path, ok := strings.CutPrefix(req.URL.Path, Prefix)
	ep := h.routes[path]
	if !ok || ep == nil || req.Method != http.MethodPost {
		// Milvus's gin router answers an unknown path, and a known one
		// asked with another method (HandleMethodNotAllowed is off), with
		// gin's plain-text 404.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, notFoundBody)
		return
	}
	timeout := defaultTimeout
	if v := req.Header.Get(headerRequestTimeout); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
			timeout = time.Duration(min(secs, maxTimeout.Seconds()) * float64(time.Second))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	resp, err := h.serve(ctx, ep, req)
	code, status := errs.CodeOf(err), http.StatusOK
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		// Milvus's timeout middleware answers 408 in both places.
		code, status = http.StatusRequestTimeout, http.StatusRequestTimeout
	}
	if grpcstatus.Code(err) == codes.PermissionDenied {
		// Milvus's checkAuthorizationV2 answers a refused privilege 403.
		status = http.StatusForbidden
	}
	if h.observe != nil {
		h.observe(path, code, time.Since(start), errors.Is(err, errPanic))
	}
	if err != nil {
		h.logger.Debug("request failed", "path", path, "code", code, "err", err, "took", time.Since(start))
		// The message is a status's reason, as Milvus's handlers answer
		// merr.Error(status).Error() (wrapperProxy): for a proxy's error
		// the text of the wrapper next to its root (errs.Reason, e.g. a
		// shard's refusal without the task's "failed to search: "), not
		// the whole chain of its detail.
		writeJSON(w, status, map[string]any{"code": code, "message": errs.Reason(err)})
		return
	}
	out, isEnv := resp.(envelope)
	if !isEnv {
		out = envelope{"data": resp}
	}
	out["code"] = 0
	writeJSON(w, http.StatusOK, out)
}

// serve reads the body and runs the endpoint, turning a panic into an
// internal error so that no request takes the server down.
func (h *Handler) serve(ctx context.Context, ep endpoint, req *http.Request) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			h.logger.Error("request panicked", "path", req.URL.Path, "panic", r, "stack", string(debug.Stack()))
			resp, err = nil, fmt.Errorf("internal error: %v: %w", r, errPanic)
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, maxBodyBytes))
	if err != nil {
		return nil, restErr(errIncorrectFormat, "read body: %v", err)
	}
	if err := bind(strings.TrimPrefix(req.URL.Path, Prefix), body); err != nil {
		return nil, err
	}
	var head struct {
		DBName any `json:"dbName"`
	}
	json.NewDecoder(bytes.NewReader(body)).Decode(&head) // bind checked the body; a non-string dbName is no name
	c := &call{body: body, allowInt64: true}
	c.db, _ = head.DBName.(string)
	if c.db == "" {
		c.db = req.Header.Get(headerDBName)
	}
	if c.db == "" {
		c.db = defaultDB
	}
	if v := req.Header.Get(headerAllowInt64); v != "" {
		if b, err := strconv.ParseBool(v); err == nil {
			c.allowInt64 = b
		}
	}
	ctx = proxy.WithDatabase(ctx, c.db)
	if user := auth.User(ctx); user != "" {
		if err := h.authorize(ctx, user, strings.TrimPrefix(req.URL.Path, Prefix), c.db, body); err != nil {
			return nil, err
		}
	}
	return ep(ctx, c)
}

// decode unmarshals the body into v (a pointer to a request struct).
func (c *call) decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return restErr(errIncorrectFormat, "%v", err)
	}
	return nil
}

// corsHeaders are the headers Milvus's RequestHandlerFunc sets on every
// answer (httpserver/utils.go:2080-2084); Strict-Transport-Security is
// only set with http.enableHSTS, off by default, which Milvago does not
// have.
var corsHeaders = [][2]string{
	{"Access-Control-Allow-Origin", "*"},
	{"Access-Control-Allow-Credentials", "true"},
	{"Access-Control-Allow-Headers", "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, accept, origin, Cache-Control, X-Requested-With"},
	{"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"},
	{"X-Content-Type-Options", "nosniff"},
}

func setCORSHeaders(h http.Header) {
	for _, kv := range corsHeaders {
		h.Set(kv[0], kv[1])
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusOK
		b, _ = json.Marshal(map[string]any{"code": errs.ErrServiceInternal.Code, "message": "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// empty is the data of an answer without data ({}).
func empty() any { return struct{}{} }
