package storage

import "strconv"

// Top-level prefixes of the object store, as in Milvus.
const (
	InsertLogPrefix = "insert_log"
	DeltaLogPrefix  = "delta_log"
	StatsLogPrefix  = "stats_log"
	IndexFilePrefix = "index_files"
)

func joinIDs(prefix string, ids ...int64) string {
	b := make([]byte, 0, len(prefix)+len(ids)*20)
	b = append(b, prefix...)
	for _, id := range ids {
		b = append(b, '/')
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

// InsertLogPath is the key of the insert binlog logID of field in a segment:
// insert_log/{collection}/{partition}/{segment}/{field}/{logID}.
func InsertLogPath(collection, partition, segment, field, logID int64) string {
	return joinIDs(InsertLogPrefix, collection, partition, segment, field, logID)
}

// DeltaLogPath is the key of the delta log logID of a segment:
// delta_log/{collection}/{partition}/{segment}/{logID}.
func DeltaLogPath(collection, partition, segment, logID int64) string {
	return joinIDs(DeltaLogPrefix, collection, partition, segment, logID)
}

// StatsLogPath is the key of the stats log logID of a segment, filed under
// its primary-key field: stats_log/{collection}/{partition}/{segment}/{field}/{logID}.
func StatsLogPath(collection, partition, segment, field, logID int64) string {
	return joinIDs(StatsLogPrefix, collection, partition, segment, field, logID)
}

// IndexFilePath is the key of the index file name written by index build
// buildID: index_files/{buildID}/{name}.
func IndexFilePath(buildID int64, name string) string {
	return joinIDs(IndexFilePrefix, buildID) + "/" + name
}

// SegmentPrefixes returns the insert, delta and stats prefixes (each ending
// in "/") under which every file of a segment lives, for garbage collection.
func SegmentPrefixes(collection, partition, segment int64) []string {
	return []string{
		joinIDs(InsertLogPrefix, collection, partition, segment) + "/",
		joinIDs(DeltaLogPrefix, collection, partition, segment) + "/",
		joinIDs(StatsLogPrefix, collection, partition, segment) + "/",
	}
}
