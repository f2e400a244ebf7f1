package pb

import (
	"fmt"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/contract"
	"github.com/milvago/milvago/internal/index"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/msg"
	"github.com/milvago/milvago/internal/segment"
)

// ---- model records ----

// FromCollection encodes a collection; nil stays nil.
func FromCollection(c *model.Collection) *Collection {
	if c == nil {
		return nil
	}
	out := &Collection{Id: c.ID, DbName: c.DBName, Name: c.Name, Schema: c.Schema, ShardsNum: c.ShardsNum,
		Vchannels: c.VChannels, Pchannels: c.PChannels, ConsistencyLevel: c.ConsistencyLevel, Properties: c.Properties,
		Aliases: c.Aliases, CreateTs: c.CreateTS, UpdateTs: c.UpdateTS, SchemaTs: c.SchemaTS}
	for _, p := range c.Partitions {
		out.Partitions = append(out.Partitions, &Partition{Id: p.ID, Name: p.Name, CreateTs: p.CreateTS})
	}
	return out
}

// ToCollection decodes a collection; nil stays nil.
func ToCollection(c *Collection) *model.Collection {
	if c == nil {
		return nil
	}
	out := &model.Collection{ID: c.GetId(), DBName: c.GetDbName(), Name: c.GetName(), Schema: c.GetSchema(), ShardsNum: c.GetShardsNum(),
		VChannels: c.GetVchannels(), PChannels: c.GetPchannels(), ConsistencyLevel: c.GetConsistencyLevel(), Properties: c.GetProperties(),
		Aliases: c.GetAliases(), CreateTS: c.GetCreateTs(), UpdateTS: c.GetUpdateTs(), SchemaTS: c.GetSchemaTs()}
	for _, p := range c.GetPartitions() {
		out.Partitions = append(out.Partitions, model.Partition{ID: p.GetId(), Name: p.GetName(), CreateTS: p.GetCreateTs()})
	}
	return out
}

// FromSegment encodes a segment.
func FromSegment(s model.Segment) *Segment {
	return &Segment{Id: s.ID, CollectionId: s.CollectionID, PartitionId: s.PartitionID, Vchannel: s.VChannel, State: int32(s.State),
		NumRows: s.NumRows, StartPosition: s.StartPosition, SealTs: s.SealTS, Binlogs: s.Binlogs, StatsLog: s.StatsLog,
		FlushTs: s.FlushTS, SizeBytes: s.SizeBytes, CompactedFrom: s.CompactedFrom, DeltaApplied: s.DeltaApplied, Siblings: s.Siblings, Clustered: s.Clustered,
		DeletedRows: s.DeletedRows, DeletedUpTo: s.DeletedUpTo, Sorted: s.Sorted, SyncManifest: s.SyncManifest}
}

// ToSegment decodes a segment.
func ToSegment(s *Segment) model.Segment {
	return model.Segment{ID: s.GetId(), CollectionID: s.GetCollectionId(), PartitionID: s.GetPartitionId(), VChannel: s.GetVchannel(),
		State: model.SegmentState(s.GetState()), NumRows: s.GetNumRows(), StartPosition: s.GetStartPosition(), SealTS: s.GetSealTs(),
		Binlogs: s.GetBinlogs(), StatsLog: s.GetStatsLog(), FlushTS: s.GetFlushTs(), SizeBytes: s.GetSizeBytes(),
		CompactedFrom: s.GetCompactedFrom(), DeltaApplied: s.GetDeltaApplied(), Siblings: s.GetSiblings(), Clustered: s.GetClustered(), DeletedRows: s.GetDeletedRows(), DeletedUpTo: s.GetDeletedUpTo(),
		Sorted: s.GetSorted(), SyncManifest: s.GetSyncManifest()}
}

// FromSegments encodes segments.
func FromSegments(segs []model.Segment) []*Segment {
	out := make([]*Segment, 0, len(segs))
	for _, s := range segs {
		out = append(out, FromSegment(s))
	}
	return out
}

// ToSegments decodes segments.
func ToSegments(segs []*Segment) []model.Segment {
	var out []model.Segment
	for _, s := range segs {
		out = append(out, ToSegment(s))
	}
	return out
}

// FromDeltaLog encodes a delta log.
func FromDeltaLog(d model.DeltaLog) *DeltaLog {
	return &DeltaLog{Id: d.ID, CollectionId: d.CollectionID, Vchannel: d.VChannel, Path: d.Path, Entries: d.Entries, MaxTs: d.MaxTS}
}

// ToDeltaLog decodes a delta log.
func ToDeltaLog(d *DeltaLog) model.DeltaLog {
	return model.DeltaLog{ID: d.GetId(), CollectionID: d.GetCollectionId(), VChannel: d.GetVchannel(), Path: d.GetPath(), Entries: d.GetEntries(), MaxTS: d.GetMaxTs()}
}

// FromDeltaLogs encodes delta logs.
func FromDeltaLogs(ds []model.DeltaLog) []*DeltaLog {
	out := make([]*DeltaLog, 0, len(ds))
	for _, d := range ds {
		out = append(out, FromDeltaLog(d))
	}
	return out
}

// ToDeltaLogs decodes delta logs.
func ToDeltaLogs(ds []*DeltaLog) []model.DeltaLog {
	var out []model.DeltaLog
	for _, d := range ds {
		out = append(out, ToDeltaLog(d))
	}
	return out
}

// FromIndexDef encodes an index definition.
func FromIndexDef(d model.IndexDef) *IndexDef {
	return &IndexDef{Id: d.ID, CollectionId: d.CollectionID, FieldId: d.FieldID, Name: d.Name, IndexParams: d.IndexParams,
		TypeParams: d.TypeParams, UserParams: d.UserParams, CreateTs: d.CreateTS}
}

// ToIndexDef decodes an index definition.
func ToIndexDef(d *IndexDef) model.IndexDef {
	return model.IndexDef{ID: d.GetId(), CollectionID: d.GetCollectionId(), FieldID: d.GetFieldId(), Name: d.GetName(),
		IndexParams: d.GetIndexParams(), TypeParams: d.GetTypeParams(), UserParams: d.GetUserParams(), CreateTS: d.GetCreateTs()}
}

// FromIndexDefs encodes index definitions.
func FromIndexDefs(ds []model.IndexDef) []*IndexDef {
	if ds == nil {
		return nil
	}
	out := make([]*IndexDef, 0, len(ds))
	for _, d := range ds {
		out = append(out, FromIndexDef(d))
	}
	return out
}

// ToIndexDefs decodes index definitions.
func ToIndexDefs(ds []*IndexDef) []model.IndexDef {
	if ds == nil {
		return nil
	}
	out := make([]model.IndexDef, 0, len(ds))
	for _, d := range ds {
		out = append(out, ToIndexDef(d))
	}
	return out
}

// FromSegmentIndex encodes a segment's index build.
func FromSegmentIndex(s model.SegmentIndex) *SegmentIndex {
	return &SegmentIndex{BuildId: s.BuildID, IndexId: s.IndexID, SegmentId: s.SegmentID, FieldId: s.FieldID, State: s.State,
		FailReason: s.FailReason, File: s.File, NumRows: s.NumRows, SizeBytes: s.SizeBytes}
}

// ToSegmentIndex decodes a segment's index build.
func ToSegmentIndex(s *SegmentIndex) model.SegmentIndex {
	return model.SegmentIndex{BuildID: s.GetBuildId(), IndexID: s.GetIndexId(), SegmentID: s.GetSegmentId(), FieldID: s.GetFieldId(),
		State: s.GetState(), FailReason: s.GetFailReason(), File: s.GetFile(), NumRows: s.GetNumRows(), SizeBytes: s.GetSizeBytes()}
}

// FromSegmentIndexes encodes index builds.
func FromSegmentIndexes(ss []model.SegmentIndex) []*SegmentIndex {
	out := make([]*SegmentIndex, 0, len(ss))
	for _, s := range ss {
		out = append(out, FromSegmentIndex(s))
	}
	return out
}

// ToSegmentIndexes decodes index builds.
func ToSegmentIndexes(ss []*SegmentIndex) []model.SegmentIndex {
	var out []model.SegmentIndex
	for _, s := range ss {
		out = append(out, ToSegmentIndex(s))
	}
	return out
}

// ---- contract types ----

// FromCheckpoint encodes a checkpoint.
func FromCheckpoint(c contract.Checkpoint) *Checkpoint {
	return &Checkpoint{Position: c.Position, Ts: c.TS}
}

// ToCheckpoint decodes a checkpoint.
func ToCheckpoint(c *Checkpoint) contract.Checkpoint {
	return contract.Checkpoint{Position: c.GetPosition(), TS: c.GetTs()}
}

// FromSegmentPlan encodes a segment plan.
func FromSegmentPlan(p contract.SegmentPlan) *SegmentPlan {
	return &SegmentPlan{Segment: FromSegment(p.Segment), Indexes: FromSegmentIndexes(p.Indexes)}
}

// ToSegmentPlan decodes a segment plan.
func ToSegmentPlan(p *SegmentPlan) contract.SegmentPlan {
	return contract.SegmentPlan{Segment: ToSegment(p.GetSegment()), Indexes: ToSegmentIndexes(p.GetIndexes())}
}

// FromChannelPlan encodes a shard plan (its Replan stays behind).
func FromChannelPlan(p contract.ChannelPlan) *ChannelPlan {
	out := &ChannelPlan{Vchannel: p.VChannel, Pchannel: p.PChannel, Checkpoint: FromCheckpoint(p.Checkpoint), DeltaLogs: FromDeltaLogs(p.DeltaLogs)}
	for _, s := range p.Sealed {
		out.Sealed = append(out.Sealed, FromSegmentPlan(s))
	}
	out.Indexes = FromIndexDefs(p.Indexes)
	return out
}

// ToChannelPlan decodes a shard plan, without Replan.
func ToChannelPlan(p *ChannelPlan) contract.ChannelPlan {
	out := contract.ChannelPlan{VChannel: p.GetVchannel(), PChannel: p.GetPchannel(), Checkpoint: ToCheckpoint(p.GetCheckpoint()), DeltaLogs: ToDeltaLogs(p.GetDeltaLogs())}
	for _, s := range p.GetSealed() {
		out.Sealed = append(out.Sealed, ToSegmentPlan(s))
	}
	out.Indexes = ToIndexDefs(p.GetIndexes())
	return out
}

// FromMessage encodes a log message in the log's own encoding.
func FromMessage(m *msg.Message) (*LogMessage, error) {
	payload, props, err := msg.Encode(m)
	if err != nil {
		return nil, err
	}
	return &LogMessage{Payload: payload, Properties: props}, nil
}

// ToMessage decodes a log message.
func ToMessage(m *LogMessage) (*msg.Message, error) {
	return msg.Decode(m.GetPayload(), m.GetProperties())
}

// FromBuildTask encodes an index build.
func FromBuildTask(t contract.BuildTask) *BuildTask {
	return &BuildTask{BuildId: t.BuildID, IndexType: t.Spec.Type, Metric: string(t.Spec.Metric), Dim: int64(t.Spec.Dim), Params: t.Spec.Params, BinlogPath: t.BinlogPath}
}

// ToBuildTask decodes an index build.
func ToBuildTask(t *BuildTask) contract.BuildTask {
	return contract.BuildTask{BuildID: t.GetBuildId(), Spec: index.Spec{Type: t.GetIndexType(), Metric: index.Metric(t.GetMetric()), Dim: int(t.GetDim()), Params: t.GetParams()}, BinlogPath: t.GetBinlogPath()}
}

// FromBuildResult encodes a finished build.
func FromBuildResult(r contract.BuildResult) *BuildResult {
	return &BuildResult{File: r.File, NumRows: r.NumRows, SizeBytes: r.SizeBytes, TookNanos: int64(r.Took)}
}

// ToBuildResult decodes a finished build.
func ToBuildResult(r *BuildResult) contract.BuildResult {
	return contract.BuildResult{File: r.GetFile(), NumRows: r.GetNumRows(), SizeBytes: r.GetSizeBytes(), Took: time.Duration(r.GetTookNanos())}
}

// marshaler is a filter that can be shipped (expr.Expr).
type marshaler interface{ Marshal() ([]byte, error) }

func marshalFilter(f segment.Filter) ([]byte, error) {
	if f == nil {
		return nil, nil
	}
	m, ok := f.(marshaler)
	if !ok {
		return nil, fmt.Errorf("filter %T cannot be serialized", f)
	}
	return m.Marshal()
}

// FromSearchRequest encodes one shard's search.
func FromSearchRequest(r *contract.SearchRequest) (*SearchRequest, error) {
	filter, err := marshalFilter(r.Search.Filter)
	if err != nil {
		return nil, err
	}
	q := r.Search.Queries
	vs := &VectorSearch{FieldId: r.Search.FieldID, Queries: &Vectors{Dim: int64(q.Dim), Float: q.Float, Binary: q.Binary, Sparse: q.Sparse},
		Metric: string(r.Search.Metric), K: int64(r.Search.Params.K), Params: r.Search.Params.Params, Filter: filter}
	if g := r.Search.GroupBy; g != nil {
		vs.GroupBy, vs.GroupByField, vs.GroupSize = true, g.FieldID, int64(g.Size)
		vs.GroupJsonPath, vs.GroupJsonType, vs.GroupStrictCast = g.JSONPath, int32(g.JSONType), g.StrictCast
	}
	vs.Exact = r.Search.Exact
	vs.IndexType = r.Search.IndexType
	for _, l := range r.Search.EmbListLens {
		vs.EmbListLens = append(vs.EmbListLens, int64(l))
	}
	if a := r.Search.After; a != nil {
		vs.HasAfter, vs.After = true, *a
	}
	if t := r.Search.AfterTies; t != nil {
		vs.HasAfterTies, vs.AfterTiesInt, vs.AfterTiesStr = true, t.Ints, t.Strs
	}
	out := &SearchRequest{CollectionId: r.CollectionID, Vchannel: r.VChannel, PartitionIds: r.PartitionIDs, GuaranteeTs: r.GuaranteeTS,
		IgnoreGrowing: r.IgnoreGrowing, OutputFields: r.OutputFields, Search: vs, PinMvcc: r.PinMVCC,
		MaxHits: int64(r.MaxHits), MaxOutputSize: r.MaxOutputSize, TtlNow: r.TTLNow}
	for i, sub := range r.Subs {
		p, err := FromSearchRequest(sub)
		if err != nil {
			return nil, fmt.Errorf("sub-search %d: %w", i, err)
		}
		out.Subs = append(out.Subs, p)
	}
	return out, nil
}

// ToSearchRequest decodes one shard's search; unmarshal restores the
// filter against the collection's schema.
func ToSearchRequest(r *SearchRequest, unmarshal func([]byte) (segment.Filter, error)) (*contract.SearchRequest, error) {
	vs := r.GetSearch()
	q := vs.GetQueries()
	out := &contract.SearchRequest{CollectionID: r.GetCollectionId(), VChannel: r.GetVchannel(), PartitionIDs: r.GetPartitionIds(),
		GuaranteeTS: r.GetGuaranteeTs(), IgnoreGrowing: r.GetIgnoreGrowing(), OutputFields: r.GetOutputFields(),
		Search: segment.SearchRequest{FieldID: vs.GetFieldId(), Queries: index.Dataset{Dim: int(q.GetDim()), Float: q.GetFloat(), Binary: q.GetBinary(), Sparse: q.GetSparse()},
			Metric: index.Metric(vs.GetMetric()), Params: index.SearchParams{K: int(vs.GetK()), Params: vs.GetParams()}}}
	if vs.GetGroupBy() {
		out.Search.GroupBy = &segment.GroupBy{FieldID: vs.GetGroupByField(), Size: int(vs.GetGroupSize()),
			JSONPath: vs.GetGroupJsonPath(), JSONType: schemapb.DataType(vs.GetGroupJsonType()), StrictCast: vs.GetGroupStrictCast()}
	}
	out.PinMVCC, out.TTLNow = r.GetPinMvcc(), r.GetTtlNow()
	out.MaxHits, out.MaxOutputSize = int(r.GetMaxHits()), r.GetMaxOutputSize()
	for i, sub := range r.GetSubs() {
		c, err := ToSearchRequest(sub, unmarshal)
		if err != nil {
			return nil, fmt.Errorf("sub-search %d: %w", i, err)
		}
		out.Subs = append(out.Subs, c)
	}
	out.Search.Exact = vs.GetExact()
	out.Search.IndexType = vs.GetIndexType()
	for _, l := range vs.GetEmbListLens() {
		out.Search.EmbListLens = append(out.Search.EmbListLens, int(l))
	}
	if vs.GetHasAfter() {
		a := vs.GetAfter()
		out.Search.After = &a
	}
	if vs.GetHasAfterTies() {
		out.Search.AfterTies = &segment.PKSet{Ints: vs.GetAfterTiesInt(), Strs: vs.GetAfterTiesStr()}
	}
	if len(vs.GetFilter()) > 0 {
		f, err := unmarshal(vs.GetFilter())
		if err != nil {
			return nil, err
		}
		out.Search.Filter = f
	}
	return out, nil
}

func fromColumns(cols map[int64]column.Column, schema *schemapb.CollectionSchema) ([]*schemapb.FieldData, error) {
	var out []*schemapb.FieldData
	for id, c := range cols {
		var f *schemapb.FieldSchema
		for _, fs := range schema.GetFields() {
			if fs.GetFieldID() == id {
				f = fs
			}
		}
		if f == nil {
			switch id {
			case 0, 1: // row ID and timestamp columns
				f = &schemapb.FieldSchema{FieldID: id, DataType: schemapb.DataType_Int64}
			default:
				return nil, fmt.Errorf("result column %d is not in the schema", id)
			}
		}
		out = append(out, column.ToFieldData(c, f))
	}
	return out, nil
}

func toColumns(fds []*schemapb.FieldData) (map[int64]column.Column, error) {
	if fds == nil {
		return nil, nil
	}
	out := make(map[int64]column.Column, len(fds))
	for _, fd := range fds {
		c, err := column.FromFieldData(fd)
		if err != nil {
			return nil, fmt.Errorf("result column %d: %w", fd.GetFieldId(), err)
		}
		out[fd.GetFieldId()] = c
	}
	return out, nil
}

// FromSearchResult encodes one shard's hits; columns are encoded against
// the collection's schema.
func FromSearchResult(r *contract.SearchResult, schema *schemapb.CollectionSchema) (*SearchResult, error) {
	fields, err := fromColumns(r.Fields, schema)
	if err != nil {
		return nil, err
	}
	out := &SearchResult{Nq: int64(r.NQ), IntPks: r.IntPKs, StrPks: r.StrPKs, Scores: r.Scores, Fields: fields, Grouped: r.GroupValues != nil, MvccTs: r.MVCCTs,
		Segments: r.Segments}
	for _, k := range r.Topks {
		out.Topks = append(out.Topks, int64(k))
	}
	for _, v := range r.GroupValues {
		g := &GroupValue{}
		switch v := v.(type) {
		case nil:
		case int64:
			g.Value = &GroupValue_Int{Int: v}
		case bool:
			g.Value = &GroupValue_Bool{Bool: v}
		case string:
			g.Value = &GroupValue_String_{String_: v}
		default:
			return nil, fmt.Errorf("group value of type %T", v)
		}
		out.GroupValues = append(out.GroupValues, g)
	}
	for i, sub := range r.Subs {
		p, err := FromSearchResult(sub, schema)
		if err != nil {
			return nil, fmt.Errorf("sub-search %d: %w", i, err)
		}
		out.Subs = append(out.Subs, p)
	}
	return out, nil
}

// ToSearchResult decodes one shard's hits.
func ToSearchResult(r *SearchResult) (*contract.SearchResult, error) {
	fields, err := toColumns(r.GetFields())
	if err != nil {
		return nil, err
	}
	out := &contract.SearchResult{NQ: int(r.GetNq()), IntPKs: r.GetIntPks(), StrPKs: r.GetStrPks(), Scores: r.GetScores(), Fields: fields, MVCCTs: r.GetMvccTs(),
		Segments: r.GetSegments()}
	for _, k := range r.GetTopks() {
		out.Topks = append(out.Topks, int(k))
	}
	if r.GetGrouped() {
		out.GroupValues = make([]any, 0, len(r.GetGroupValues()))
		for _, g := range r.GetGroupValues() {
			switch v := g.GetValue().(type) {
			case *GroupValue_Int:
				out.GroupValues = append(out.GroupValues, v.Int)
			case *GroupValue_Bool:
				out.GroupValues = append(out.GroupValues, v.Bool)
			case *GroupValue_String_:
				out.GroupValues = append(out.GroupValues, v.String_)
			default:
				out.GroupValues = append(out.GroupValues, nil)
			}
		}
	}
	for i, sub := range r.GetSubs() {
		c, err := ToSearchResult(sub)
		if err != nil {
			return nil, fmt.Errorf("sub-search %d: %w", i, err)
		}
		out.Subs = append(out.Subs, c)
	}
	return out, nil
}

// FromQueryRequest encodes one shard's query.
func FromQueryRequest(r *contract.QueryRequest) (*QueryRequest, error) {
	filter, err := marshalFilter(r.Filter)
	if err != nil {
		return nil, err
	}
	return &QueryRequest{CollectionId: r.CollectionID, Vchannel: r.VChannel, PartitionIds: r.PartitionIDs, GuaranteeTs: r.GuaranteeTS,
		Filter: filter, Limit: int64(r.Limit), OutputFields: r.OutputFields, CountOnly: r.CountOnly, PinMvcc: r.PinMVCC,
		IgnoreGrowing: r.IgnoreGrowing, TtlNow: r.TTLNow, Segments: r.Segments, RestrictSegments: r.RestrictSegments}, nil
}

// ToQueryRequest decodes one shard's query.
func ToQueryRequest(r *QueryRequest, unmarshal func([]byte) (segment.Filter, error)) (*contract.QueryRequest, error) {
	out := &contract.QueryRequest{CollectionID: r.GetCollectionId(), VChannel: r.GetVchannel(), PartitionIDs: r.GetPartitionIds(),
		GuaranteeTS: r.GetGuaranteeTs(), Limit: int(r.GetLimit()), OutputFields: r.GetOutputFields(), CountOnly: r.GetCountOnly(), PinMVCC: r.GetPinMvcc(),
		IgnoreGrowing: r.GetIgnoreGrowing(), TTLNow: r.GetTtlNow(), Segments: r.GetSegments(), RestrictSegments: r.GetRestrictSegments()}
	if len(r.GetFilter()) > 0 {
		f, err := unmarshal(r.GetFilter())
		if err != nil {
			return nil, err
		}
		out.Filter = f
	}
	return out, nil
}

// FromQueryResult encodes one shard's rows.
func FromQueryResult(r *contract.QueryResult, schema *schemapb.CollectionSchema) (*QueryResult, error) {
	fields, err := fromColumns(r.Fields, schema)
	if err != nil {
		return nil, err
	}
	return &QueryResult{IntPks: r.IntPKs, StrPks: r.StrPKs, Fields: fields, Count: r.Count, MvccTs: r.MVCCTs}, nil
}

// ToQueryResult decodes one shard's rows.
func ToQueryResult(r *QueryResult) (*contract.QueryResult, error) {
	fields, err := toColumns(r.GetFields())
	if err != nil {
		return nil, err
	}
	return &contract.QueryResult{IntPKs: r.GetIntPks(), StrPKs: r.GetStrPks(), Fields: fields, Count: r.GetCount(), MVCCTs: r.GetMvccTs()}, nil
}
