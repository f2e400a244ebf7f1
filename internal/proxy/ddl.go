package proxy

import (
	"context"
	"fmt"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/quota"
	"github.com/milvago/milvago/internal/tso"
)

func partitionNotFound(name string) error { return errs.PartitionNotFound(name) }

// ---- databases ----

// CreateDatabase creates a database.
func (s *Server) CreateDatabase(ctx context.Context, req *milvuspb.CreateDatabaseRequest) error {
	if err := validateDatabaseName(req.GetDbName()); err != nil {
		return err
	}
	if err := checkZoneProperty(req.GetProperties()); err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLDB, "", 0, 1); err != nil {
		return err
	}
	props := map[string]string{}
	for _, p := range req.GetProperties() {
		props[p.GetKey()] = p.GetValue()
	}
	return s.d.Root.CreateDatabase(ctx, req.GetDbName(), props)
}

// DropDatabase drops an empty database.
func (s *Server) DropDatabase(ctx context.Context, req *milvuspb.DropDatabaseRequest) error {
	if err := validateDatabaseName(req.GetDbName()); err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLDB, "", 0, 1); err != nil {
		return err
	}
	return s.d.Root.DropDatabase(ctx, req.GetDbName())
}

// ListDatabases lists databases.
func (s *Server) ListDatabases(ctx context.Context, _ *milvuspb.ListDatabasesRequest) (*milvuspb.ListDatabasesResponse, error) {
	resp := &milvuspb.ListDatabasesResponse{}
	dbs, err := s.d.Root.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	for _, db := range dbs {
		resp.DbNames = append(resp.DbNames, db.Name)
		resp.DbIds = append(resp.DbIds, db.ID)
		resp.CreatedTimestamp = append(resp.CreatedTimestamp, db.CreateTS)
	}
	return resp, nil
}

// DescribeDatabase describes a database.
func (s *Server) DescribeDatabase(ctx context.Context, req *milvuspb.DescribeDatabaseRequest) (*milvuspb.DescribeDatabaseResponse, error) {
	db, err := s.d.Root.DescribeDatabase(ctx, dbOf(ctx, req.GetDbName()))
	if err != nil {
		return nil, err
	}
	resp := &milvuspb.DescribeDatabaseResponse{DbName: db.Name, DbID: db.ID, CreatedTimestamp: db.CreateTS}
	for k, v := range db.Properties {
		resp.Properties = append(resp.Properties, &commonpb.KeyValuePair{Key: k, Value: v})
	}
	return resp, nil
}

// ---- collections ----

// CreateCollection validates a schema and creates the collection.
func (s *Server) CreateCollection(ctx context.Context, req *milvuspb.CreateCollectionRequest) error {
	if err := validateCollectionName(req.GetCollectionName()); err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLCollection, dbOf(ctx, req.GetDbName()), 0, 1); err != nil {
		return err
	}
	if err := s.checkCreateFunctions(ctx, dbOf(ctx, req.GetDbName()), req.GetSchema(), req.GetProperties()); err != nil {
		return err
	}
	schema, shards, err := decodeCreateCollectionSchemaWith(req.GetCollectionName(), req.GetSchema(), req.GetShardsNum(),
		schemaRules{vectorClusteringKey: s.cfg.EnableVectorClusteringKey})
	if err != nil {
		return err
	}
	var partitions []string
	if n, err := partitionKeyPartitions(schema, req.GetNumPartitions()); err != nil {
		return err
	} else if hasPartitionKey(schema) {
		// Partition-key collections get n partitions _default_0.._default_{n-1}
		// instead of a single _default (as Milvus).
		for i := range n {
			partitions = append(partitions, fmt.Sprintf("%s_%d", model.DefaultPartition, i))
		}
	}
	level := req.GetConsistencyLevel()
	if err := validateCollectionTTL(req.GetProperties()); err != nil {
		return err
	}
	props, err := s.createProperties(ctx, dbOf(ctx, req.GetDbName()), schema, req.GetProperties())
	if err != nil {
		return err
	}
	c, err := s.d.Root.CreateCollection(ctx, contract.CreateCollectionRequest{
		DBName: dbOf(ctx, req.GetDbName()), Schema: schema, ShardsNum: shards,
		ConsistencyLevel: level, Properties: props, PartitionNames: partitions,
	})
	if err != nil {
		return err
	}
	if s.d.Hooks != nil {
		return s.d.Hooks.CollectionCreated(ctx, c)
	}
	return nil
}

// DropCollection drops a collection (its data is released and discarded).
func (s *Server) DropCollection(ctx context.Context, req *milvuspb.DropCollectionRequest) error {
	if err := validateCollectionNameOrAlias(req.GetCollectionName(), "collection name"); err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLCollection, dbOf(ctx, req.GetDbName()), 0, 1); err != nil {
		return err
	}
	return s.d.Root.DropCollection(ctx, dbOf(ctx, req.GetDbName()), req.GetCollectionName())
}

// HasCollection reports whether a collection (or alias) exists.
func (s *Server) HasCollection(ctx context.Context, req *milvuspb.HasCollectionRequest) (bool, error) {
	_, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		if errs.CodeOf(err) == errs.ErrCollectionNotFound.Code {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// DescribeCollection describes a collection.
func (s *Server) DescribeCollection(ctx context.Context, req *milvuspb.DescribeCollectionRequest) (*milvuspb.DescribeCollectionResponse, error) {
	var c *model.Collection
	var err error
	if req.GetCollectionName() == "" && req.GetCollectionID() != 0 {
		c, err = s.d.Root.DescribeCollection(ctx, "", "", req.GetCollectionID())
	} else {
		c, err = s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	}
	if err != nil {
		return nil, err
	}
	return &milvuspb.DescribeCollectionResponse{
		Schema: describedSchema(c), CollectionID: c.ID, CollectionName: c.Name, DbName: c.DBName,
		VirtualChannelNames: c.VChannels, PhysicalChannelNames: c.PChannels,
		CreatedTimestamp: c.CreateTS, CreatedUtcTimestamp: uint64(tso.Physical(c.CreateTS).UnixMilli()),
		ShardsNum: c.ShardsNum, Aliases: c.Aliases, ConsistencyLevel: c.ConsistencyLevel,
		Properties: c.Properties, NumPartitions: int64(len(c.Partitions)),
		UpdateTimestamp: c.SchemaTimestamp(), UpdateTimestampStr: strconv.FormatUint(c.SchemaTimestamp(), 10),
	}, nil
}

// ShowCollections lists a database's collections.
func (s *Server) ShowCollections(ctx context.Context, req *milvuspb.ShowCollectionsRequest) (*milvuspb.ShowCollectionsResponse, error) {
	colls, err := s.d.Root.ListCollections(ctx, dbOf(ctx, req.GetDbName()))
	if err != nil {
		return nil, err
	}
	resp := &milvuspb.ShowCollectionsResponse{}
	want := map[string]bool{}
	for _, n := range req.GetCollectionNames() {
		want[n] = true
	}
	for _, c := range colls {
		if len(want) > 0 && !want[c.Name] {
			continue
		}
		st, err := s.d.Query.State(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if req.GetType() == milvuspb.ShowType_InMemory && !st.Loaded {
			continue
		}
		resp.CollectionNames = append(resp.CollectionNames, c.Name)
		resp.CollectionIds = append(resp.CollectionIds, c.ID)
		resp.CreatedTimestamps = append(resp.CreatedTimestamps, c.CreateTS)
		resp.CreatedUtcTimestamps = append(resp.CreatedUtcTimestamps, uint64(tso.Physical(c.CreateTS).UnixMilli()))
		resp.InMemoryPercentages = append(resp.InMemoryPercentages, st.Progress)
		resp.QueryServiceAvailable = append(resp.QueryServiceAvailable, st.Loaded && st.Progress == 100)
		resp.ShardsNum = append(resp.ShardsNum, c.ShardsNum)
	}
	for n := range want {
		found := false
		for _, name := range resp.CollectionNames {
			found = found || name == n
		}
		if !found {
			return nil, errs.CollectionNotFound(n)
		}
	}
	return resp, nil
}

// GetCollectionStatistics returns a collection's row count.
func (s *Server) GetCollectionStatistics(ctx context.Context, req *milvuspb.GetCollectionStatisticsRequest) (*milvuspb.GetCollectionStatisticsResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	n, err := s.d.Data.RowCount(ctx, c.ID, 0)
	if err != nil {
		return nil, err
	}
	return &milvuspb.GetCollectionStatisticsResponse{Stats: []*commonpb.KeyValuePair{{Key: "row_count", Value: strconv.FormatInt(n, 10)}}}, nil
}

// AlterCollection changes a collection's properties.
func (s *Server) AlterCollection(ctx context.Context, req *milvuspb.AlterCollectionRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.checkAlterCollectionRequest(ctx, c, req); err != nil {
		return err
	}
	if err := s.d.Root.AlterCollectionProperties(ctx, c.DBName, c.Name, req.GetProperties(), req.GetDeleteKeys()); err != nil {
		return err
	}
	return s.ttlAltered(ctx, c, req) // compaction.go
}

// ---- partitions ----

// CreatePartition adds a partition.
func (s *Server) CreatePartition(ctx context.Context, req *milvuspb.CreatePartitionRequest) error {
	if err := validatePartitionName(req.GetPartitionName()); err != nil {
		return err
	}
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if hasPartitionKey(c.Schema) {
		return errPlain("disable create partition if partition key mode is used") // Milvus 2.6: errors.New
	}
	if err := s.admit(ctx, quota.DDLPartition, c.DBName, c.ID, 1); err != nil {
		return err
	}
	return s.d.Root.CreatePartition(ctx, c.DBName, c.Name, req.GetPartitionName())
}

// DropPartition drops a partition; it must be released first.
func (s *Server) DropPartition(ctx context.Context, req *milvuspb.DropPartitionRequest) error {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return err
	}
	if err := s.admit(ctx, quota.DDLPartition, c.DBName, c.ID, 1); err != nil {
		return err
	}
	if hasPartitionKey(c.Schema) {
		return errPlain("disable drop partition if partition key mode is used") // Milvus 2.6: errors.New
	}
	p, ok := c.PartitionByName(req.GetPartitionName())
	if !ok {
		return nil
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return err
	}
	if st.Loaded && (st.Partitions == nil || containsID(st.Partitions, p.ID)) {
		return errPlain("partition cannot be dropped, partition is loaded, please release it first") // Milvus 2.6 task.go dropPartitionTask.PreExecute: errors.New
	}
	return s.d.Root.DropPartition(ctx, c.DBName, c.Name, req.GetPartitionName())
}

// HasPartition reports whether a partition exists.
func (s *Server) HasPartition(ctx context.Context, req *milvuspb.HasPartitionRequest) (bool, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return false, err
	}
	_, ok := c.PartitionByName(req.GetPartitionName())
	return ok, nil
}

// ShowPartitions lists a collection's partitions.
func (s *Server) ShowPartitions(ctx context.Context, req *milvuspb.ShowPartitionsRequest) (*milvuspb.ShowPartitionsResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	st, err := s.d.Query.State(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	resp := &milvuspb.ShowPartitionsResponse{}
	for _, p := range c.Partitions {
		if len(req.GetPartitionNames()) > 0 && !containsString(req.GetPartitionNames(), p.Name) {
			continue
		}
		loaded := st.Loaded && (st.Partitions == nil || containsID(st.Partitions, p.ID))
		if req.GetType() == milvuspb.ShowType_InMemory && !loaded {
			continue
		}
		pct := int64(0)
		if loaded {
			pct = st.Progress
		}
		resp.PartitionNames = append(resp.PartitionNames, p.Name)
		resp.PartitionIDs = append(resp.PartitionIDs, p.ID)
		resp.CreatedTimestamps = append(resp.CreatedTimestamps, p.CreateTS)
		resp.CreatedUtcTimestamps = append(resp.CreatedUtcTimestamps, uint64(tso.Physical(p.CreateTS).UnixMilli()))
		resp.InMemoryPercentages = append(resp.InMemoryPercentages, pct)
	}
	return resp, nil
}

// GetPartitionStatistics returns a partition's row count.
func (s *Server) GetPartitionStatistics(ctx context.Context, req *milvuspb.GetPartitionStatisticsRequest) (*milvuspb.GetPartitionStatisticsResponse, error) {
	c, err := s.collection(ctx, req.GetDbName(), req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	p, ok := c.PartitionByName(req.GetPartitionName())
	if !ok {
		return nil, partitionNotFound(req.GetPartitionName())
	}
	n, err := s.d.Data.RowCount(ctx, c.ID, p.ID)
	if err != nil {
		return nil, err
	}
	return &milvuspb.GetPartitionStatisticsResponse{Stats: []*commonpb.KeyValuePair{{Key: "row_count", Value: strconv.FormatInt(n, 10)}}}, nil
}

// ---- aliases ----

// CreateAlias creates an alias.
func (s *Server) CreateAlias(ctx context.Context, req *milvuspb.CreateAliasRequest) error {
	if err := validateCollectionAlias(req.GetAlias()); err != nil {
		return err
	}
	return s.d.Root.CreateAlias(ctx, dbOf(ctx, req.GetDbName()), req.GetAlias(), req.GetCollectionName())
}

// DropAlias drops an alias.
func (s *Server) DropAlias(ctx context.Context, req *milvuspb.DropAliasRequest) error {
	return s.d.Root.DropAlias(ctx, dbOf(ctx, req.GetDbName()), req.GetAlias())
}

// AlterAlias repoints an alias.
func (s *Server) AlterAlias(ctx context.Context, req *milvuspb.AlterAliasRequest) error {
	return s.d.Root.AlterAlias(ctx, dbOf(ctx, req.GetDbName()), req.GetAlias(), req.GetCollectionName())
}

// DescribeAlias describes an alias.
func (s *Server) DescribeAlias(ctx context.Context, req *milvuspb.DescribeAliasRequest) (*milvuspb.DescribeAliasResponse, error) {
	db := dbOf(ctx, req.GetDbName())
	coll, err := s.d.Root.DescribeAlias(ctx, db, req.GetAlias())
	if err != nil {
		return nil, err
	}
	return &milvuspb.DescribeAliasResponse{DbName: db, Alias: req.GetAlias(), Collection: coll}, nil
}

// ListAliases lists the aliases of a collection (or of every collection).
func (s *Server) ListAliases(ctx context.Context, req *milvuspb.ListAliasesRequest) (*milvuspb.ListAliasesResponse, error) {
	db := dbOf(ctx, req.GetDbName())
	resp := &milvuspb.ListAliasesResponse{DbName: db, CollectionName: req.GetCollectionName()}
	if req.GetCollectionName() != "" {
		c, err := s.collection(ctx, db, req.GetCollectionName())
		if err != nil {
			return nil, err
		}
		resp.Aliases = c.Aliases
		return resp, nil
	}
	colls, err := s.d.Root.ListCollections(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, c := range colls {
		resp.Aliases = append(resp.Aliases, c.Aliases...)
	}
	return resp, nil
}

func hasPartitionKey(schema *schemapb.CollectionSchema) bool {
	for _, f := range schema.GetFields() {
		if f.GetIsPartitionKey() {
			return true
		}
	}
	return false
}

func containsID(list []int64, x int64) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

func containsString(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}
