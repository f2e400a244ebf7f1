package app

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/streaming"
	"github.com/milvago/milvago/internal/streamingcoord"
)

// Several streaming nodes share the pchannels (docs/cluster.md, "Streaming
// nodes"): the streaming coordinator, hosted with the root coordinator,
// assigns each pchannel a writer; every streaming node writes only what it
// holds (streamingcoord.Ownership); the proxies and query nodes route each
// call to its pchannel's writer.

// streamingClient returns the process's client of the streaming nodes,
// routing each pchannel's calls to its current writer.
func (n *roleNode) streamingClient(ctx context.Context, g *errgroup.Group) *workerrpc.StreamingClient {
	table := streamingcoord.NewTable(n.meta, n.logger)
	pool := newNodePool(session.RoleStreamingNode, "streaming node", n.logger, n.fence.client,
		func(c grpc.ClientConnInterface) grpc.ClientConnInterface { return c })
	g.Go(func() error { table.Run(ctx); return nil })
	g.Go(func() error { pool.watch(ctx, n.peers, nil); return nil })
	g.Go(func() error { <-ctx.Done(); pool.close(); return nil })
	route := func(ctx context.Context, pchannel string) (grpc.ClientConnInterface, error) {
		a, ok := table.Owner(pchannel)
		if !ok || a.Node == 0 {
			return nil, errs.ChannelNotAvailable(pchannel, "no streaming node writes it yet")
		}
		return pool.liveClient(a.Node)
	}
	// Long enough for a dead writer's session to expire and its pchannels
	// to be taken by another; with no streaming node left, calls fail then.
	return workerrpc.NewRoutedStreamingClient(route, time.Duration(n.cfg.Common.Session.TTL)*time.Second+5*time.Second)
}

// newStreamingWriter builds the streaming node's writer, fenced by its
// ownership of each pchannel, and returns that ownership too (the log
// retention of a pchannel runs on its writer only).
func (n *roleNode) newStreamingWriter(ctx context.Context, g *errgroup.Group, d streaming.Deps) (*streaming.Writer, *streamingcoord.Ownership) {
	table := streamingcoord.NewTable(n.meta, n.logger)
	var w *streaming.Writer
	own := streamingcoord.NewOwnership(streamingcoord.OwnershipDeps{KV: n.meta, Table: table,
		Session: func() streamingcoord.Session {
			if s := n.fence.sess.Load(); s != nil {
				return s
			}
			return nil
		},
		Writer: streamingcoord.ReleaseFunc(func(ctx context.Context, pc string) { w.Release(ctx, pc) }),
		Logger: n.logger})
	d.Owner = own
	w = streaming.New(streaming.Default(), d)
	g.Go(func() error { table.Run(ctx); return nil })
	g.Go(func() error { own.Run(ctx); return nil })
	return w, own
}

// runStreamingCoord assigns pchannels to the live streaming nodes (with
// the root coordinator, which knows the pchannels); meta is fenced by the
// leadership.
func (n *roleNode) runStreamingCoord(ctx context.Context, g *errgroup.Group, meta kv.Store, pchannels []string) error {
	coord, err := streamingcoord.New(ctx, streamingcoord.Deps{KV: meta, PChannels: pchannels, Logger: n.logger})
	if err != nil {
		return err
	}
	pool := newNodePool(session.RoleStreamingNode, "streaming node", n.logger, nil,
		func(c grpc.ClientConnInterface) grpc.ClientConnInterface { return c })
	g.Go(func() error {
		pool.watch(ctx, n.peers, func(ms []session.Info) error {
			ids := make([]int64, 0, len(ms))
			for _, m := range ms {
				ids = append(ids, m.ServerID)
			}
			n.logger.Info("streaming nodes changed", "nodes", len(ids))
			return coord.SetNodes(ctx, ids)
		})
		return nil
	})
	g.Go(func() error { coord.RunBalancer(ctx, streamingcoord.BalanceInterval); return nil })
	return nil
}
