// Package timestamptz parses and formats values of Milvus's Timestamptz data
// type: an instant stored as int64 microseconds since the Unix epoch (UTC),
// written by clients as ISO-8601 text and shown in a time zone. It follows
// Milvus 2.6's pkg/util/timestamptz: the accepted layouts, the UTC offset
// range [-12:00, +14:00], the output format (RFC 3339 with at most six
// fraction digits, trailing zeros dropped) and the error texts.
//
// Time zones are IANA names ("UTC", "Asia/Shanghai"); the zone database is
// embedded (time/tzdata), so results do not depend on the host.
package timestamptz

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones without relying on the host's /usr/share/zoneinfo

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
)

// Key is the collection, database and request property naming a time zone.
const Key = "timezone"

// DefaultZone is the zone used when nothing names one.
const DefaultZone = "UTC"

// Offsets outside [MinOffsetSeconds, MaxOffsetSeconds] are refused, as in
// Milvus (and PostgreSQL).
const (
	MaxOffsetSeconds = 14 * 3600
	MinOffsetSeconds = -12 * 3600
)

// naiveLayouts carry no zone: the default zone applies.
var naiveLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
}

// absoluteLayouts carry an offset or Z besides RFC 3339.
var absoluteLayouts = []string{
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z07",
	"2006-01-02 15:04:05Z",
}

// ValidZone reports whether tz names a known IANA time zone.
func ValidZone(tz string) bool {
	if tz == "" {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

// ZoneOf returns the value of the "timezone" key in props, if any.
func ZoneOf(props []*commonpb.KeyValuePair) (string, bool) {
	for _, kv := range props {
		if kv.GetKey() == Key {
			return kv.GetValue(), true
		}
	}
	return "", false
}

// ParseTime parses s as Milvus does: RFC 3339 (with T or a space, an
// offset or Z) is absolute; a naive "YYYY-MM-DD[T ]hh:mm:ss[.frac]" is read
// in defaultZone. Offsets beyond [-12:00, +14:00] are refused.
func ParseTime(s, defaultZone string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return checkOffset(t)
	}
	for _, layout := range absoluteLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return checkOffset(t)
		}
	}
	loc, err := time.LoadLocation(defaultZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid default timezone string '%s': %w", defaultZone, err)
	}
	for _, layout := range naiveLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid timestamp string: '%s'. Does not match any known format", s)
}

func checkOffset(t time.Time) (time.Time, error) {
	_, off := t.Zone()
	if off > MaxOffsetSeconds || off < MinOffsetSeconds {
		return time.Time{}, fmt.Errorf("UTC offset hour %d is out of the valid range [%d, %d]",
			off/3600, MinOffsetSeconds/3600, MaxOffsetSeconds/3600)
	}
	return t, nil
}

// Parse returns s as microseconds since the Unix epoch (see ParseTime).
func Parse(s, defaultZone string) (int64, error) {
	t, err := ParseTime(s, defaultZone)
	if err != nil {
		return 0, err
	}
	return t.UnixMicro(), nil
}

// Format renders us (microseconds since the epoch) in loc as Milvus outputs
// it: RFC 3339 with the zone's offset (Z for UTC) and at most six fraction
// digits, trailing zeros and a bare dot dropped.
func Format(us int64, loc *time.Location) string {
	// RFC3339Nano drops trailing zeros of the fraction (and a bare dot);
	// the value has microsecond precision, so at most six digits remain.
	return time.UnixMicro(us).In(loc).Format(time.RFC3339Nano)
}

// Parts extracts calendar fields of us in loc, for Milvus's time_fields
// query parameter: year, month, day, hour, minute, second, microsecond
// (case-insensitive).
func Parts(us int64, loc *time.Location, fields []string) ([]int64, error) {
	t := time.UnixMicro(us).In(loc)
	out := make([]int64, 0, len(fields))
	for _, f := range fields {
		var v int
		switch strings.ToLower(f) {
		case "year":
			v = t.Year()
		case "month":
			v = int(t.Month())
		case "day":
			v = t.Day()
		case "hour":
			v = t.Hour()
		case "minute":
			v = t.Minute()
		case "second":
			v = t.Second()
		case "microsecond":
			v = t.Nanosecond() / 1000
		default:
			return nil, fmt.Errorf("unsupported field for extraction: %s, fields should be seprated by ',' or ' '", f)
		}
		out = append(out, int64(v))
	}
	return out, nil
}
