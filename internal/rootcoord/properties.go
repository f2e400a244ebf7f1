package rootcoord

import (
	"slices"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

// timezoneKey is the collection (and database) property naming the time
// zone of Timestamptz values (common.TimezoneKey).
const timezoneKey = "timezone"

// defaultTimezone is common.DefaultTimezone.
const defaultTimezone = "UTC"

// withTimezone returns a new collection's properties with the "timezone"
// property Milvus 2.6 always sets (createCollectionTask.Prepare): the
// request's, else the database's, else UTC.
func withTimezone(props []*commonpb.KeyValuePair, dbProps map[string]string) []*commonpb.KeyValuePair {
	for _, p := range props {
		if p.GetKey() == timezoneKey {
			return props
		}
	}
	tz := dbProps[timezoneKey]
	if tz == "" {
		tz = defaultTimezone
	}
	return append(slices.Clone(props), &commonpb.KeyValuePair{Key: timezoneKey, Value: tz})
}
