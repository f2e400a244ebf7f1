package proxy

import (
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"
)

// Limits bound what one request may ask for and return (Milvus's
// quotaAndLimits.limits.* and proxy.maxResultEntries). Default returns
// Milvus 2.6's defaults.
type Limits struct {
	// NQ is quotaAndLimits.limits.nq: the most query vectors of a search.
	NQ int
	// TopK is quotaAndLimits.limits.topK: the largest limit, offset and
	// limit+offset of a search.
	TopK int
	// MaxQueryResultWindow is quotaAndLimits.limits.maxQueryResultWindow:
	// the largest offset+limit of a query.
	MaxQueryResultWindow int
	// MaxOutputSize is quotaAndLimits.limits.maxOutputSize: the largest
	// result of a search or query, in bytes.
	MaxOutputSize int64
	// MaxInsertSize is quotaAndLimits.limits.maxInsertSize: the largest
	// insert or upsert in bytes; <= 0 leaves only the gRPC message limit.
	MaxInsertSize int64
	// MaxResultEntries is proxy.maxResultEntries: the largest
	// nq*topk*groupSize of a search; <= 0 is no limit.
	MaxResultEntries int64
	// SearchRequery and HybridRequery are common.requery.searchPolicy and
	// common.requery.hybridSearchPolicy ("": RequeryOutputVector).
	SearchRequery, HybridRequery RequeryPolicy
}

// DefaultLimits are Milvus 2.6's defaults.
func DefaultLimits() Limits {
	return Limits{NQ: 16384, TopK: 16384, MaxQueryResultWindow: 16384, MaxOutputSize: 100 << 20, MaxInsertSize: -1, MaxResultEntries: -1}
}

// orDefault fills the zero fields of l with the defaults, so a zero
// Config still bounds every request.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.NQ <= 0 {
		l.NQ = d.NQ
	}
	if l.TopK <= 0 {
		l.TopK = d.TopK
	}
	if l.MaxQueryResultWindow <= 0 {
		l.MaxQueryResultWindow = d.MaxQueryResultWindow
	}
	if l.MaxOutputSize <= 0 {
		l.MaxOutputSize = d.MaxOutputSize
	}
	if l.MaxInsertSize == 0 {
		l.MaxInsertSize = d.MaxInsertSize
	}
	return l
}

// checkResultEntries is Milvus's searchTaskValidator (proxy.maxResultEntries):
// "number of result entries is too large" (a plain error, code 65535).
func (l Limits) checkResultEntries(nq, topK, groupSize int) error {
	if l.MaxResultEntries <= 0 {
		return nil
	}
	n := int64(nq) * int64(topK)
	if groupSize > 0 {
		n *= int64(groupSize)
	}
	if n > l.MaxResultEntries {
		return errPlain("number of result entries is too large")
	}
	return nil
}

// maxHits is the most hits a shard may return before the result is sure
// to exceed MaxOutputSize: every hit costs at least its score (4 bytes)
// and its key (8 bytes for an Int64 key, a byte at least for a VarChar).
func (l Limits) maxHits(pk *schemapb.FieldSchema) int {
	per := int64(4 + 8)
	if pk.GetDataType() == schemapb.DataType_VarChar {
		per = 4 + 1
	}
	return int(min(l.MaxOutputSize/per, int64(^uint(0)>>1)))
}

// errSearchOutputSize is Milvus's reduce error (search_reduce_util.go),
// ParameterInvalid 1100.
func (l Limits) errSearchOutputSize() error {
	return errInvalidMsg("search results exceed the maxOutputSize Limit %d", l.MaxOutputSize)
}

// checkSearchOutput fails a search result larger than MaxOutputSize, as
// Milvus's reduce does.
func (l Limits) checkSearchOutput(data *schemapb.SearchResultData) error {
	if int64(proto.Size(data)) > l.MaxOutputSize {
		return l.errSearchOutputSize()
	}
	return nil
}

// checkQueryOutput fails query results larger than MaxOutputSize
// (task_query.go: "query results exceed the maxOutputSize Limit").
func (l Limits) checkQueryOutput(fields []*schemapb.FieldData) error {
	var n int64
	for _, f := range fields {
		n += int64(proto.Size(f))
	}
	if n > l.MaxOutputSize {
		return errInvalidMsg("query results exceed the maxOutputSize Limit %d", l.MaxOutputSize)
	}
	return nil
}

// checkInsertSize is Milvus's insertTask check of
// quotaAndLimits.limits.maxInsertSize:
// "parameter too large[message=insert request size exceeds maxInsertSize]" (1102).
func (l Limits) checkInsertSize(fields []*schemapb.FieldData) error {
	if l.MaxInsertSize <= 0 {
		return nil
	}
	var n int64
	for _, f := range fields {
		n += int64(proto.Size(f))
		if n > l.MaxInsertSize {
			return checkRequestSize(int(n), l.MaxInsertSize)
		}
	}
	return nil
}
