package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"google.golang.org/grpc"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/rpc/workerrpc"
	"github.com/milvago/milvago/internal/session"
)

// dataNodePool reaches each live data node by its session's address: the
// data coordinator's channel assignment commands the owner of each
// pchannel, and the proxy hands a changed schema to every data node.
type dataNodePool struct {
	*nodePool[*dataNodeClient]
}

// dataNodeClient is a data node's services over one connection: channel
// watches and compactions, and imports.
type dataNodeClient struct {
	*workerrpc.DataNodeClient
	imports *workerrpc.ImportsClient
}

// ExecuteImport implements datacoord.DataWorker.
func (c *dataNodeClient) ExecuteImport(ctx context.Context, job contract.ImportJob) ([]model.Segment, error) {
	return c.imports.ExecuteImport(ctx, job)
}

func newDataNodePool(logger *slog.Logger, intercept grpc.UnaryClientInterceptor) *dataNodePool {
	return &dataNodePool{newNodePool(session.RoleDataNode, "data node", logger, intercept, func(cc grpc.ClientConnInterface) *dataNodeClient {
		return &dataNodeClient{DataNodeClient: workerrpc.NewDataNodeClient(cc), imports: workerrpc.NewImportsClient(cc)}
	})}
}

// LiveDataNodes implements datacoord.DataWorkers.
func (p *dataNodePool) LiveDataNodes() []int64 {
	return slices.Collect(maps.Keys(p.live()))
}

// DataWorker implements datacoord.DataWorkers: compactions and imports
// go to the node the data coordinator's dispatcher chose.
func (p *dataNodePool) DataWorker(_ context.Context, id int64) (datacoord.DataWorker, error) {
	c, err := p.liveClient(id)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DataNode implements datacoord.DataNodes.
func (p *dataNodePool) DataNode(_ context.Context, id int64) (datacoord.DataNode, error) {
	c, err := p.liveClient(id)
	if err != nil {
		return nil, err // an untyped nil, not a nil *DataNodeClient
	}
	return c, nil
}

// UpdateCollection hands every live data node a collection's new
// definition; one that cannot be reached is skipped (it resolves the
// definition from the root coordinator when it needs it).
func (p *dataNodePool) UpdateCollection(ctx context.Context, c *model.Collection) error {
	var errList []error
	for id := range maps.Keys(p.live()) {
		dn, err := p.liveClient(id)
		if err == nil {
			err = dn.UpdateCollection(ctx, c)
		}
		if err != nil {
			if errors.Is(err, errs.ErrServiceUnavailable) || errors.Is(err, errs.ErrNodeNotFound) {
				p.logger.Warn("schema change: data node unreachable", "node", id, "collection", c.ID, "err", err)
				continue
			}
			errList = append(errList, fmt.Errorf("app: schema change of collection %d on data node %d: %w", c.ID, id, err))
		}
	}
	return errors.Join(errList...)
}

// watch keeps the pool current with the data node sessions, calling
// changed (if not nil) with each new set of server IDs; a failed changed
// is called again each second with the latest set until it succeeds.
func (p *dataNodePool) watch(ctx context.Context, peers roleWatcher, changed func([]int64) error) {
	var onSet func([]session.Info) error
	if changed != nil {
		onSet = func(ms []session.Info) error {
			var ids []int64
			for _, m := range ms {
				ids = append(ids, m.ServerID)
			}
			return changed(ids)
		}
	}
	p.nodePool.watch(ctx, peers, onSet)
}
