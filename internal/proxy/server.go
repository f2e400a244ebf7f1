package proxy

import (
	"context"
	"log/slog"
	"sort"
	"sync/atomic"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/embedding"
	"github.com/milvago/milvago/internal/failpoint"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
)

// rootCoord is what the proxy needs from the root coordinator.
type rootCoord interface {
	AllocTimestamp(ctx context.Context, count uint32) (uint64, error)
	AllocID(ctx context.Context, count int64) (int64, error)
	CreateDatabase(ctx context.Context, name string, props map[string]string) error
	DropDatabase(ctx context.Context, name string) error
	ListDatabases(ctx context.Context) ([]contract.Database, error)
	DescribeDatabase(ctx context.Context, name string) (contract.Database, error)
	CreateCollection(ctx context.Context, req contract.CreateCollectionRequest) (*model.Collection, error)
	DropCollection(ctx context.Context, db, name string) error
	DescribeCollection(ctx context.Context, db, name string, id int64) (*model.Collection, error)
	ListCollections(ctx context.Context, db string) ([]*model.Collection, error)
	AlterCollectionProperties(ctx context.Context, db, name string, props []*commonpb.KeyValuePair, deleteKeys []string) error
	CreatePartition(ctx context.Context, db, collection, partition string) error
	DropPartition(ctx context.Context, db, collection, partition string) error
	CreateAlias(ctx context.Context, db, alias, collection string) error
	DropAlias(ctx context.Context, db, alias string) error
	AlterAlias(ctx context.Context, db, alias, collection string) error
	DescribeAlias(ctx context.Context, db, alias string) (string, error)
	// The Milvus 2.6 DDL (ddl26.go).
	AlterDatabase(ctx context.Context, name string, props []*commonpb.KeyValuePair, deleteKeys []string) error
	RenameCollection(ctx context.Context, db, oldName, newDB, newName string) error
	AddCollectionField(ctx context.Context, db, name string, field *schemapb.FieldSchema) (*model.Collection, error)
	AlterCollectionField(ctx context.Context, db, name, fieldName string, props []*commonpb.KeyValuePair, deleteKeys []string) (*model.Collection, error)
	// Schema functions (functions_ddl.go).
	AddCollectionFunction(ctx context.Context, db, name string, fn *schemapb.FunctionSchema) (*model.Collection, error)
	AlterCollectionFunction(ctx context.Context, db, name string, fn *schemapb.FunctionSchema) (*model.Collection, error)
	DropCollectionFunction(ctx context.Context, db, name, fnName string) (*model.Collection, error)
}

// dataCoord is what the proxy needs from the data coordinator.
type dataCoord interface {
	RowCount(ctx context.Context, collection, partition int64) (int64, error)
	Segments(ctx context.Context, collection int64, vchannel string) ([]model.Segment, error)
	Flushed(ctx context.Context, ids []int64) (bool, error)
	GetCheckpoint(ctx context.Context, vchannel string) (contract.Checkpoint, error)
	// ChannelsFlushed reports whether every channel's checkpoint reached
	// ts; a channel whose data node cannot flush it is an error naming
	// the cause (datacoord/failures.go).
	ChannelsFlushed(ctx context.Context, vchannels []string, ts uint64) (bool, error)
	// Compaction (compaction.go): a job's ID (-1: nothing to compact) and
	// its number of plans; a job's state (false: unknown).
	ManualCompaction(ctx context.Context, collectionID int64, clustering bool) (int64, int, error)
	CompactionJob(ctx context.Context, id int64) (contract.CompactionJob, bool, error)
}

// queryCoord is what the proxy needs from the query coordinator.
type queryCoord interface {
	// LoadCollection loads replicas into the resource groups rgs (none:
	// the default group).
	LoadCollection(ctx context.Context, c *model.Collection, partitions []int64, replicas int32, rgs ...string) error
	ReleaseCollection(ctx context.Context, collectionID int64) error
	ReleasePartitions(ctx context.Context, c *model.Collection, partitions []int64) error
	State(ctx context.Context, collectionID int64) (contract.LoadState, error)
}

// indexCoord is what the proxy needs from the index coordinator.
type indexCoord interface {
	CreateIndex(ctx context.Context, req contract.CreateIndexRequest) error
	Indexes(ctx context.Context, collectionID int64) ([]model.IndexDef, error)
	IndexProgress(ctx context.Context, def model.IndexDef) (contract.IndexProgress, error)
	DropIndex(ctx context.Context, collectionID, indexID int64) error
	// AlterIndex sets or deletes index properties; it reports whether
	// anything changed.
	AlterIndex(ctx context.Context, collectionID int64, name string, params map[string]string, deleteKeys []string) (bool, error)
}

// writer appends DML to the log (the channel writer).
type writer interface {
	AppendInsert(ctx context.Context, pchannel string, in contract.Insert) (contract.AppendResult, error)
	AppendDelete(ctx context.Context, pchannel string, m *msg.Message) (contract.AppendResult, error)
	Seal(ctx context.Context, pchannel, vchannel string, collection int64) ([]int64, uint64, error)
	FlushAll(ctx context.Context, pchannel string, vchannels []contract.VChannel) (contract.AppendResult, error)
	SyncTo(ctx context.Context, pchannel string, ts uint64) error
}

// shards serves reads per shard (the shard leaders' query nodes).
type shards interface {
	Search(ctx context.Context, req *contract.SearchRequest) (*contract.SearchResult, error)
	Query(ctx context.Context, req *contract.QueryRequest) (*contract.QueryResult, error)
	// Leader is the node serving a shard's reads (0: none), which
	// Milvus's texts of a delegator's refusal name.
	Leader(ctx context.Context, collectionID int64, vchannel string) (int64, error)
}

// Hooks let the composition root react to collection DDL: the data node
// consumes a new collection, the query and data nodes hear of a schema
// change before it is acknowledged, and a truncated collection's segments
// leave the data coordinator and the query nodes.
type Hooks interface {
	CollectionCreated(ctx context.Context, c *model.Collection) error
	CollectionSchemaChanged(ctx context.Context, c *model.Collection) error
	CollectionTruncated(ctx context.Context, c *model.Collection, segmentIDs []int64) error
}

// Config tunes the proxy.
type Config struct {
	// MaxMessageBytes bounds one log message; larger inserts are split.
	MaxMessageBytes int
	// InsertMessageBytes is the size an insert is split into log messages
	// of (at most MaxMessageBytes), as Milvus's proxy splits inserts by
	// pulsar.maxMessageSize (2 MiB) whatever the log: smaller messages keep
	// fewer and smaller copies in flight in the log's client and server
	// and in each consumer's decoding (0: MaxMessageBytes alone).
	InsertMessageBytes int
	// BoundedStaleness is how far behind Bounded reads may be.
	BoundedStalenessMs int64
	// Limits bound requests and results (zero fields: Milvus's defaults).
	Limits Limits
	// Models configures the model services of text_embedding functions
	// and model rerankers (docs/embedding.md).
	Models embedding.Config
	// EnableVectorClusteringKey is common.enableVectorClusteringKey: a
	// FloatVector clustering key is allowed.
	EnableVectorClusteringKey bool
	// ClusterID is common.clusterID, FlushAll's cluster_info.cluster_id.
	ClusterID string
}

// DefaultInsertMessageBytes is Milvus's pulsar.maxMessageSize, by which
// its proxy splits inserts.
const DefaultInsertMessageBytes = 2 << 20

// Default returns the defaults.
func Default() Config {
	return Config{MaxMessageBytes: 4 << 20, InsertMessageBytes: DefaultInsertMessageBytes, BoundedStalenessMs: 5000, Limits: DefaultLimits(), ClusterID: "0"}
}

// Deps are the proxy's collaborators.
type Deps struct {
	Root   rootCoord
	Data   dataCoord
	Query  queryCoord
	Index  indexCoord
	Writer writer
	// PChannels lists every physical channel of the cluster (the root
	// coordinator's), each of which FlushAll logs a FlushAll message on.
	PChannels func(ctx context.Context) ([]string, error)
	Shards    shards
	Hooks     Hooks
	// Imports is the data coordinator's bulk import jobs (import.go); nil:
	// Import and the jobs/import API answer Unimplemented.
	Imports importCoord
	// Quota, if set, admits or refuses requests (quotaAndLimits).
	Quota admitter
	// QuotaMetrics is the quota center's last sample (GetQuotaMetrics);
	// nil: quotaAndLimits is off and there is no sample.
	QuotaMetrics quotaMetrics
	// Failpoints are the process's (nil: none); the proxy has
	// proxy.search.requery, a search held after its shards answered and
	// before its requery (the second phase) is sent.
	Failpoints *failpoint.Set
	Logger     *slog.Logger
}

// Server is a proxy.
type Server struct {
	cfg      Config
	d        Deps
	logger   *slog.Logger
	sessions sessions
	iterTies tieMemory // search iterator v2: keys returned at each page's bound
	clients  clientSDKs
	models   *embedding.Service
	// requery is the search and hybrid search requery policies (Milvus's
	// are refreshable: SetRequeryPolicies changes them while serving).
	requery atomic.Pointer[requeryPolicies]
}

// New returns a proxy.
func New(cfg Config, d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.orDefault()
	s := &Server{cfg: cfg, d: d, logger: d.Logger.With("component", "proxy"), models: embedding.New(cfg.Models)}
	s.SetRequeryPolicies(cfg.Limits.SearchRequery, cfg.Limits.HybridRequery)
	return s
}

type ctxKey int

const dbKey ctxKey = 0

// WithDatabase returns a context carrying the database named in the
// request's metadata ("dbname"), used when a request names none itself.
func WithDatabase(ctx context.Context, db string) context.Context {
	return context.WithValue(ctx, dbKey, db)
}

// dbOf picks the request's database: its own field, else the metadata's,
// else "default".
func dbOf(ctx context.Context, reqDB string) string {
	if reqDB != "" {
		return reqDB
	}
	if db, ok := ctx.Value(dbKey).(string); ok && db != "" {
		return db
	}
	return model.DefaultDatabase
}

// collection resolves a collection by name or alias.
func (s *Server) collection(ctx context.Context, reqDB, name string) (*model.Collection, error) {
	if err := validateCollectionNameOrAlias(name, "collection name"); err != nil {
		return nil, err
	}
	return s.d.Root.DescribeCollection(ctx, dbOf(ctx, reqDB), name, 0)
}

// partitionIDs resolves partition names ("" or none: nil, all partitions).
func partitionIDs(c *model.Collection, names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]int64, 0, len(names))
	for _, n := range names {
		p, ok := c.PartitionByName(n)
		if !ok {
			return nil, partitionNotFound(n)
		}
		out = append(out, p.ID)
	}
	return out, nil
}

func pkField(c *model.Collection) *schemapb.FieldSchema { return c.PrimaryField() }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CollectionID looks a collection up by name as Milvus's meta cache does
// (globalMetaCache.GetCollectionID): without the name checks of the DDL
// tasks, so an empty or unknown name is "collection not found". LoadBalance
// and the replica RPCs resolve their collection this way.
func (s *Server) CollectionID(ctx context.Context, db, name string) (int64, error) {
	c, err := s.d.Root.DescribeCollection(ctx, dbOf(ctx, db), name, 0)
	if err != nil {
		return 0, err
	}
	return c.ID, nil
}
