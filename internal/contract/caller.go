package contract

import "context"

type callerKey struct{}

// WithCaller returns ctx carrying the server ID of the process that made a
// call (its etcd session), as the gRPC edge learns it from the request.
func WithCaller(ctx context.Context, serverID int64) context.Context {
	return context.WithValue(ctx, callerKey{}, serverID)
}

// CallerOf returns the calling process's server ID; ok is false for an
// in-process call (standalone), which no fencing applies to.
func CallerOf(ctx context.Context) (serverID int64, ok bool) {
	id, ok := ctx.Value(callerKey{}).(int64)
	return id, ok
}
