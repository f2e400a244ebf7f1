package rootcoord

import (
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"

	"github.com/milvago/milvago/internal/timestamptz"
)

// withTimezone returns a new collection's properties with the "timezone"
// property Milvus 2.6 always sets (createCollectionTask.Prepare): the
// request's, else the database's, else UTC.
func withTimezone(props []*commonpb.KeyValuePair, dbProps map[string]string) []*commonpb.KeyValuePair {
	if _, ok := timestamptz.ZoneOf(props); ok {
		return props
	}
	tz := dbProps[timestamptz.Key]
	if tz == "" {
		tz = timestamptz.DefaultZone
	}
	return append(slices.Clone(props), &commonpb.KeyValuePair{Key: timestamptz.Key, Value: tz})
}
