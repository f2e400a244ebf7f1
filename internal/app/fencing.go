package app

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/rpc"
	"github.com/milvago/milvago/internal/rpc/framed"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/session"
)

// Fencing between processes (docs/cluster.md, "Fencing"). Every internal
// call carries, as gRPC metadata:
//
//   - the caller's server ID (its session), so that a coordinator can
//     refuse a report from a node that no longer owns what it reports on;
//   - from an active coordinator, its role and leadership term
//     (Leadership.Token), so that a worker refuses the commands of a
//     coordinator that lost its election (session.Terms);
//   - to a query node reached by ID, the server ID the caller means
//     (Milvus's TargetID), so that a new process behind an old address
//     does not obey commands meant for its predecessor.
//
// And a process whose session is no longer fresh (lost, or the process
// was stopped for longer than half the TTL: session.Fresh) neither serves
// nor sends anything until it has registered again (it exits, and its
// supervisor restarts it under a new server ID).
const (
	mdCaller    = "milvago-caller-id"
	mdCoordRole = "milvago-coord-role"
	mdCoordTerm = "milvago-coord-term"
	mdTarget    = "milvago-target-id"
)

// fence is one process's side of fencing.
type fence struct {
	role  string
	sess  atomic.Pointer[session.Session]
	lead  atomic.Pointer[session.Leadership]
	terms session.Terms
	// points are the failpoints armed in the process (nil: none):
	// rpc.serve/<method> holds a call it serves before the handler runs,
	// as if the request had been delayed in flight (its caller may lose
	// what it reports on meanwhile: the handler's own checks must refuse).
	points *failpoint.Set
	logger *slog.Logger // nil: discard
}

// refusal is err as a gRPC error whose details carry the Milvus status, so
// the caller's client (coordrpc.TransportError) rebuilds err with its code.
func refusal(err error) error {
	st, derr := status.New(codes.FailedPrecondition, err.Error()).WithDetails(rpc.StatusOf(err))
	if derr != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	return st.Err()
}

func mdInt(md metadata.MD, key string) (int64, bool) {
	v := md.Get(key)
	if len(v) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	return n, err == nil
}

// server checks every call a process serves.
func (f *fence) server(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s := f.sess.Load()
	if s != nil {
		if err := s.Fresh(); err != nil {
			return nil, refusal(errs.NodeOffline(s.ID(), "its session expired: "+err.Error()))
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if target, ok := mdInt(md, mdTarget); ok && s != nil && target != s.ID() {
		return nil, refusal(errs.NodeNotMatch(target, s.ID()))
	}
	if term, ok := mdInt(md, mdCoordTerm); ok {
		if role := md.Get(mdCoordRole); len(role) > 0 {
			if err := f.terms.Admit(role[0], term); err != nil {
				return nil, refusal(err)
			}
		}
	}
	caller, ok := mdInt(md, mdCaller)
	if ok {
		ctx = contract.WithCaller(ctx, caller)
	}
	held := ""
	if f.points != nil { // unarmed: no name built, no allocation per call
		if name := "rpc.serve" + info.FullMethod; f.points.Hit(ctx, name, "caller", caller) {
			held = name
		}
	}
	resp, err := handler(ctx, req)
	if held != "" {
		f.points.Served(ctx, held, answerErr(resp, err), "caller", caller)
	}
	if err := f.answerable(s); err != nil {
		return nil, refusal(err)
	}
	return resp, err
}

// answerErr is the error a served call answers: err, or the Milvus status
// of a response that carries one (internal services answer their errors
// in the response, as Milvus's do).
func answerErr(resp any, err error) error {
	if err != nil {
		return err
	}
	if r, ok := resp.(interface{ GetStatus() *commonpb.Status }); ok {
		return rpc.ErrorOf(r.GetStatus())
	}
	return nil
}

// answerable is nil when a query node may answer the call it just served.
// The fence admitted the call while the session was fresh, but the process
// may have been stopped (SIGSTOP, a VM freeze) or cut off while it ran: its
// shards have moved meanwhile, and what it read is stale (deletes and
// inserts the shard's new leader applied are missing). So a query node
// checks again before it answers, as the log's writer checks its
// ownership again right before it appends, and the caller retries on the
// shard's current leader. Other roles answer as before: their calls are
// commands whose effect is already done, and refusing the answer would
// only make the caller repeat them.
func (f *fence) answerable(s *session.Session) error {
	if s == nil || f.role != session.RoleQueryNode {
		return nil
	}
	if err := s.Fresh(); err != nil {
		if f.logger != nil {
			f.logger.Warn("answer refused: the session ended while the call was served", "err", err)
		}
		return errs.NodeOffline(s.ID(), "its session expired while it served the call: "+err.Error())
	}
	return nil
}

// caller is the server ID a framed call (internal/rpc/framed) carries as
// its caller, or the refusal to send it once the session is not fresh: the
// client side of the fence for the calls that bypass gRPC.
func (f *fence) caller() (int64, error) {
	s := f.sess.Load()
	if s == nil {
		return 0, nil
	}
	if err := s.Fresh(); err != nil {
		return 0, errs.NodeOffline(s.ID(), "its session expired: "+err.Error())
	}
	return s.ID(), nil
}

// answerFramed is answerable for a framed call.
func (f *fence) answerFramed() error { return f.answerable(f.sess.Load()) }

// admitFramed is server for a framed call: its context, or its refusal.
func (f *fence) admitFramed(ctx context.Context, h framed.Header) (context.Context, error) {
	s := f.sess.Load()
	if s != nil {
		if err := s.Fresh(); err != nil {
			return nil, errs.NodeOffline(s.ID(), "its session expired: "+err.Error())
		}
		if h.Target != 0 && h.Target != s.ID() {
			return nil, errs.NodeNotMatch(h.Target, s.ID())
		}
	}
	if h.Caller != 0 {
		ctx = contract.WithCaller(ctx, h.Caller)
	}
	if f.points != nil {
		f.points.Hit(ctx, "rpc.serve"+pb.QueryNode_Search_FullMethodName, "caller", h.Caller)
	}
	return ctx, nil
}

// client stamps every call a process makes, and refuses to send one once
// its session is not fresh.
func (f *fence) client(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var kv []string
	if s := f.sess.Load(); s != nil {
		if err := s.Fresh(); err != nil {
			return refusal(errs.NodeOffline(s.ID(), "its session expired: "+err.Error()))
		}
		kv = append(kv, mdCaller, strconv.FormatInt(s.ID(), 10))
	}
	if l := f.lead.Load(); l != nil {
		kv = append(kv, mdCoordRole, f.role, mdCoordTerm, strconv.FormatInt(l.Token(), 10))
	}
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// targeting addresses every call on a connection to server ID id.
func targeting(id int64) grpc.UnaryClientInterceptor {
	v := strconv.FormatInt(id, 10)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, mdTarget, v), method, req, reply, cc, opts...)
	}
}
