package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/metacache"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc/coordrpc"
	"github.com/milvago/milvago/internal/rpc/pb"
	"github.com/milvago/milvago/internal/session"
)

// ---- proxy side: the cache in front of the coordinator clients ----

// cachedRoot is the proxy's root coordinator: described collections and
// databases come from the cache, single timestamps are batched.
type cachedRoot struct {
	*coordrpc.RootCoordClient
	mc  *metacache.Cache
	tso *metacache.TSO
}

func (r cachedRoot) DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error) {
	return r.mc.DescribeCollection(ctx, db, name, id)
}

func (r cachedRoot) DescribeDatabase(ctx context.Context, name string) (contract.Database, error) {
	return r.mc.DescribeDatabase(ctx, name)
}

func (r cachedRoot) AllocTimestamp(ctx context.Context, count uint32) (uint64, error) {
	return r.tso.AllocTimestamp(ctx, count)
}

// cachedQuery serves complete load states from the cache.
type cachedQuery struct {
	*coordrpc.QueryCoordClient
	mc *metacache.Cache
}

func (q cachedQuery) State(ctx context.Context, collectionID int64) (contract.LoadState, error) {
	return q.mc.State(ctx, collectionID)
}

// cachedIndex serves index definitions from the cache.
type cachedIndex struct {
	*coordrpc.IndexCoordClient
	mc *metacache.Cache
}

func (x cachedIndex) Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error) {
	return x.mc.Indexes(ctx, collectionID)
}

// proxyCacheServer is the Proxy service a proxy serves to the
// coordinators.
type proxyCacheServer struct {
	pb.UnimplementedProxyServer
	mc *metacache.Cache
}

func (s proxyCacheServer) InvalidateCollectionMetaCache(_ context.Context, r *pb.InvalidateCacheRequest) (*pb.Empty, error) {
	s.mc.Invalidate(metacache.Invalidation{DB: r.GetDbName(), Collection: r.GetCollectionName(),
		CollectionID: r.GetCollectionId(), Database: r.GetDatabase(), Op: r.GetOp()})
	return coordrpc.Empty(nil), nil
}

// ---- coordinator side: tell every proxy before acknowledging DDL ----

// invalidationsOf names what the coordinator RPC method changes in the
// proxies' caches (nil: the method is not DDL). A new coordinator RPC that
// changes a collection's metadata, load state or indexes, or a
// database's properties, must be added here, or proxies keep serving the
// old metadata.
func invalidationsOf(method string, req any) []*pb.InvalidateCacheRequest {
	coll := func(op, db, name string, id int64) *pb.InvalidateCacheRequest {
		return &pb.InvalidateCacheRequest{Op: op, DbName: db, CollectionName: name, CollectionId: id}
	}
	byID := func(op string, id int64) []*pb.InvalidateCacheRequest {
		return []*pb.InvalidateCacheRequest{coll(op, "", "", id)}
	}
	switch r := req.(type) {
	case *pb.DatabaseRequest:
		if method == pb.RootCoord_DropDatabase_FullMethodName || method == pb.RootCoord_CreateDatabase_FullMethodName {
			return []*pb.InvalidateCacheRequest{{Op: method, DbName: r.GetName(), Database: true}}
		}
	case *pb.AlterDatabaseRequest:
		return []*pb.InvalidateCacheRequest{{Op: "AlterDatabase", DbName: r.GetName(), Database: true}}
	case *pb.CreateCollectionRequest:
		return []*pb.InvalidateCacheRequest{coll("CreateCollection", r.GetDbName(), r.GetSchema().GetName(), 0)}
	case *pb.CollectionRequest:
		if method == pb.RootCoord_DropCollection_FullMethodName {
			return []*pb.InvalidateCacheRequest{coll("DropCollection", r.GetDbName(), r.GetName(), r.GetId())}
		}
	case *pb.AlterCollectionRequest:
		return []*pb.InvalidateCacheRequest{coll("AlterCollection", r.GetDbName(), r.GetName(), 0)}
	case *pb.PartitionRequest:
		return []*pb.InvalidateCacheRequest{coll(method, r.GetDbName(), r.GetCollection(), 0)}
	case *pb.AliasRequest:
		if method == pb.RootCoord_DescribeAlias_FullMethodName {
			return nil
		}
		out := []*pb.InvalidateCacheRequest{coll(method, r.GetDbName(), r.GetAlias(), 0)}
		if r.GetCollection() != "" {
			out = append(out, coll(method, r.GetDbName(), r.GetCollection(), 0))
		}
		return out
	case *pb.RenameCollectionRequest:
		newDB := r.GetNewDbName()
		if newDB == "" {
			newDB = r.GetDbName()
		}
		return []*pb.InvalidateCacheRequest{coll("RenameCollection", r.GetDbName(), r.GetOldName(), 0),
			coll("RenameCollection", newDB, r.GetNewName(), 0)}
	case *pb.AddCollectionFieldRequest:
		return []*pb.InvalidateCacheRequest{coll("AddCollectionField", r.GetDbName(), r.GetName(), 0)}
	case *pb.AlterCollectionFieldRequest:
		return []*pb.InvalidateCacheRequest{coll("AlterCollectionField", r.GetDbName(), r.GetName(), 0)}
	case *pb.CollectionFunctionRequest:
		return []*pb.InvalidateCacheRequest{coll("AlterCollectionFunction", r.GetDbName(), r.GetName(), 0)}
	case *pb.LoadRequest:
		return byID("LoadCollection", r.GetCollection().GetId())
	case *pb.ReleaseRequest:
		id := r.GetCollectionId()
		if id == 0 {
			id = r.GetCollection().GetId()
		}
		return byID(method, id)
	case *pb.DropPartitionDataRequest:
		if method == pb.QueryCoord_PartitionDropped_FullMethodName {
			return byID("PartitionDropped", r.GetCollectionId())
		}
	case *pb.CreateIndexRequest:
		return byID("CreateIndex", r.GetCollection().GetId())
	case *pb.DropIndexRequest:
		return byID("DropIndex", r.GetCollectionId())
	case *pb.AlterIndexRequest:
		return byID("AlterIndex", r.GetCollectionId())
	case *pb.BadIndexFile: // IndexFaults.IndexFileBad: a build replaced by a rebuild
		return byID("IndexFileBad", r.GetCollectionId())
	case *pb.IndexesRequest:
		if method == pb.IndexCoord_DropCollection_FullMethodName {
			return byID("DropCollectionIndexes", r.GetCollectionId())
		}
	}
	return nil
}

// invalidateTimeout bounds the invalidation of a DDL whose caller set no
// deadline.
const invalidateTimeout = 30 * time.Second

// proxyInvalidator calls InvalidateCollectionMetaCache on every proxy
// session after a coordinator applied a DDL and before the DDL's answer
// leaves (Milvus: the DDL's expireCache step). A proxy that cannot be
// reached is retried until it answers or its session is gone.
type proxyInvalidator struct {
	meta   kv.Store
	logger *slog.Logger

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // by proxy address
}

func newProxyInvalidator(meta kv.Store, logger *slog.Logger) *proxyInvalidator {
	return &proxyInvalidator{meta: meta, logger: logger.With("component", "invalidator"), conns: map[string]*grpc.ClientConn{}}
}

// intercept is a unary server interceptor of a coordinator's gRPC server.
func (p *proxyInvalidator) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	invs := invalidationsOf(info.FullMethod, req)
	if invs == nil {
		return handler(ctx, req)
	}
	resp, err := handler(ctx, req)
	// Even a failed DDL may have changed something (a drop that stopped
	// half way): invalidate either way, and report the DDL's own failure
	// first.
	ierr := p.invalidate(ctx, invs)
	if err != nil {
		return resp, err
	}
	if ierr != nil {
		return nil, grpcstatus.Errorf(codes.Unavailable, "invalidate proxy meta caches: %v", ierr)
	}
	return resp, nil
}

func (p *proxyInvalidator) conn(addr string) (pb.ProxyClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return pb.NewProxyClient(c), nil
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial proxy %s: %w", addr, err)
	}
	p.conns[addr] = c
	return pb.NewProxyClient(c), nil
}

func (p *proxyInvalidator) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = map[string]*grpc.ClientConn{}
}

// invalidate tells every live proxy session, concurrently.
func (p *proxyInvalidator) invalidate(ctx context.Context, invs []*pb.InvalidateCacheRequest) error {
	ctx = context.WithoutCancel(ctx) // a DDL applied must reach the caches even if its caller left
	ctx, cancel := context.WithTimeout(ctx, invalidateTimeout)
	defer cancel()
	proxies, _, err := session.List(ctx, p.meta, session.RoleProxy)
	if err != nil {
		return fmt.Errorf("list proxy sessions: %w", err)
	}
	errc := make(chan error, len(proxies))
	for _, px := range proxies {
		go func() { errc <- p.invalidateOne(ctx, px, invs) }()
	}
	var errsOut []error
	for range proxies {
		if err := <-errc; err != nil {
			errsOut = append(errsOut, err)
		}
	}
	return errors.Join(errsOut...)
}

// invalidateOne retries a proxy until it answers or its session ends.
func (p *proxyInvalidator) invalidateOne(ctx context.Context, px session.Info, invs []*pb.InvalidateCacheRequest) error {
	cli, err := p.conn(px.Address)
	if err != nil {
		return err
	}
	backoff := 50 * time.Millisecond
	for _, inv := range invs {
		for {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			r, err := cli.InvalidateCollectionMetaCache(cctx, inv)
			cancel()
			if err == nil {
				err = coordrpc.Check("proxy", r, nil)
			}
			if err == nil {
				break
			}
			live, lerr := p.alive(ctx, px.ServerID)
			if lerr == nil && !live {
				p.logger.Info("proxy session gone; skipped", "proxy", px.ServerID, "address", px.Address)
				return nil
			}
			p.logger.Warn("invalidate proxy meta cache; retrying", "proxy", px.ServerID, "address", px.Address, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("proxy %d at %s: %w", px.ServerID, px.Address, err)
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
		}
	}
	return nil
}

func (p *proxyInvalidator) alive(ctx context.Context, id int64) (bool, error) {
	proxies, _, err := session.List(ctx, p.meta, session.RoleProxy)
	if err != nil {
		return false, err
	}
	for _, px := range proxies {
		if px.ServerID == id {
			return true, nil
		}
	}
	return false, nil
}
