package proxy

import (
	"context"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/quota"
)

// admitter decides whether a request may run (quotaAndLimits: rate limits
// and write protection); internal/quota implements it.
type admitter interface {
	Admit(ctx context.Context, kind quota.Kind, collectionID int64, n int) error
}

// admit asks the quota, if the proxy has one.
func (s *Server) admit(ctx context.Context, kind quota.Kind, collectionID int64, n int) error {
	if s.d.Quota == nil {
		return nil
	}
	return s.d.Quota.Admit(ctx, kind, collectionID, n)
}

// fieldsSize is the bytes of a write's columns on the wire.
func fieldsSize(fields []*schemapb.FieldData) int {
	n := 0
	for _, f := range fields {
		n += proto.Size(f)
	}
	return n
}
