package proxy

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"google.golang.org/protobuf/proto"

	"github.com/milvago/milvago/internal/geometry"
	"github.com/milvago/milvago/internal/model"
	"github.com/milvago/milvago/internal/timestamptz"
)

// Timestamptz handling in the proxy, after Milvus 2.6
// (pkg/util/timestamptz, proxy validate_util.checkTimestamptzFieldData,
// util.timestamptzUTC2IsoStr and extractFieldsFromResults):
//
//   - Values are stored as int64 microseconds since the epoch (UTC).
//   - Inserts carry ISO-8601 strings (string_data), read in the
//     collection's time zone when they name none. We also take
//     timestamptz_data (microseconds), which the Go SDK up to v2.6.2 sends.
//   - A collection's time zone is its "timezone" property; CreateCollection
//     sets it from the database's (else "UTC") when the request does not.
//   - Query and search output the values as ISO strings in the request's
//     "timezone" parameter, else the collection's; with "time_fields" as an
//     Int64 array of the named calendar fields per row.
//   - Default values arrive as ISO strings, are stored as microseconds and
//     described as strings in the collection's zone.

// timeFieldsKey is the query/search parameter asking for calendar fields.
const timeFieldsKey = "time_fields"

func errUnknownZone(tz string) error {
	return errInvalidMsg("unknown or invalid IANA Time Zone ID: %s", tz)
}

// checkZoneProperty rejects an unknown "timezone" property.
func checkZoneProperty(props []*commonpb.KeyValuePair) error {
	if tz, ok := timestamptz.ZoneOf(props); ok && !timestamptz.ValidZone(tz) {
		return errUnknownZone(tz)
	}
	return nil
}

// collectionZone is a collection's time zone.
func collectionZone(c *model.Collection) string {
	if tz, ok := timestamptz.ZoneOf(c.Properties); ok && tz != "" {
		return tz
	}
	return timestamptz.DefaultZone
}

// requestZone is the zone a read uses: the request's "timezone"
// parameter (checked), else the collection's.
func requestZone(c *model.Collection, params []*commonpb.KeyValuePair) (string, error) {
	if tz, ok := timestamptz.ZoneOf(params); ok && tz != "" {
		if !timestamptz.ValidZone(tz) {
			return "", errUnknownZone(tz)
		}
		return tz, nil
	}
	return collectionZone(c), nil
}

// createProperties returns a new collection's properties with its time
// zone: the request's (checked), else the database's, else UTC. It also
// rewrites Timestamptz default values from ISO strings to microseconds.
func (s *Server) createProperties(ctx context.Context, db string, schema *schemapb.CollectionSchema, props []*commonpb.KeyValuePair) ([]*commonpb.KeyValuePair, error) {
	if err := checkZoneProperty(props); err != nil {
		return nil, err
	}
	tz, ok := timestamptz.ZoneOf(props)
	if !ok {
		tz = timestamptz.DefaultZone
		if d, err := s.d.Root.DescribeDatabase(ctx, db); err == nil {
			if v, ok := d.Properties[timestamptz.Key]; ok && v != "" {
				tz = v
			}
		}
		props = append(append([]*commonpb.KeyValuePair(nil), props...), &commonpb.KeyValuePair{Key: timestamptz.Key, Value: tz})
	}
	if err := geometryDefaults(schema); err != nil {
		return nil, err
	}
	for _, f := range schema.GetFields() {
		if f.GetDataType() != schemapb.DataType_Timestamptz {
			continue
		}
		str, isStr := f.GetDefaultValue().GetData().(*schemapb.ValueField_StringData)
		if !isStr || str.StringData == "" {
			continue
		}
		us, err := timestamptz.Parse(str.StringData, tz)
		if err != nil {
			return nil, errInvalidMsg("%s", err.Error())
		}
		f.DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_TimestamptzData{TimestamptzData: us}}
	}
	return props, nil
}

// describedSchema returns the schema to describe: Timestamptz default
// values become ISO strings in the collection's zone and Geometry ones WKT
// (on a copy, made only when there is one).
func describedSchema(c *model.Collection) *schemapb.CollectionSchema {
	loc, err := time.LoadLocation(collectionZone(c))
	if err != nil {
		loc = time.UTC
	}
	var out *schemapb.CollectionSchema
	for i, f := range c.Schema.GetFields() {
		var text string
		switch d := f.GetDefaultValue().GetData().(type) {
		case *schemapb.ValueField_TimestamptzData:
			if f.GetDataType() != schemapb.DataType_Timestamptz {
				continue
			}
			text = timestamptz.Format(d.TimestamptzData, loc)
		case *schemapb.ValueField_BytesData: // Geometry: WKB stored, WKT described
			if f.GetDataType() != schemapb.DataType_Geometry {
				continue
			}
			wkt, err := geometry.WKBToWKT(d.BytesData)
			if err != nil {
				continue
			}
			text = wkt
		default:
			continue
		}
		if out == nil {
			out = proto.Clone(c.Schema).(*schemapb.CollectionSchema)
		}
		out.Fields[i].DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: text}}
	}
	if out == nil {
		return c.Schema
	}
	return out
}

// timestamptzInput converts Timestamptz columns sent as ISO strings into
// microseconds, reading zone-less strings in the collection's zone. Other
// columns, and Timestamptz columns sent as microseconds, pass unchanged;
// the request's FieldData are not modified. The null slots of a column in
// the full form (one value per row) are skipped.
func timestamptzInput(c *model.Collection, fields []*schemapb.FieldData) ([]*schemapb.FieldData, error) {
	return convertFields(c, fields, func(fd *schemapb.FieldData, f *schemapb.FieldSchema) (*schemapb.FieldData, error) {
		return timestamptzField(fd, f, collectionZone(c), false)
	})
}

// timestamptzField is one column's conversion (fd itself when there is
// nothing to convert). everySlot parses every string sent, null slots
// too, as Milvus's checkTimestamptzFieldData does before any length
// check (validate_util.go:1234-1262).
func timestamptzField(fd *schemapb.FieldData, f *schemapb.FieldSchema, tz string, everySlot bool) (*schemapb.FieldData, error) {
	strs := fd.GetScalars().GetStringData()
	if f == nil || f.GetDataType() != schemapb.DataType_Timestamptz || strs == nil {
		return fd, nil
	}
	us := make([]int64, len(strs.GetData()))
	valid := fd.GetValidData()
	full := len(valid) == len(strs.GetData()) // else compact: values of valid rows only
	for j, s := range strs.GetData() {
		if full && !valid[j] && !everySlot {
			continue // a null slot
		}
		v, err := timestamptz.Parse(s, tz)
		if err != nil {
			// Milvus's text (which blames the zone whatever the cause).
			return nil, errInvalidMsg("got invalid timestamptz string '%s': %s", s,
				"invalid timezone name; must be a valid IANA Time Zone ID (e.g., 'Asia/Shanghai' or 'UTC')")
		}
		us[j] = v
	}
	return &schemapb.FieldData{
		Type: fd.GetType(), FieldName: fd.GetFieldName(), FieldId: fd.GetFieldId(), IsDynamic: fd.GetIsDynamic(),
		ValidData: fd.GetValidData(),
		Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
			Data: &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: us}},
		}},
	}, nil
}

// convertFields applies conv to each column of a known field, copying
// fields only when a column changes.
func convertFields(c *model.Collection, fields []*schemapb.FieldData,
	conv func(*schemapb.FieldData, *schemapb.FieldSchema) (*schemapb.FieldData, error)) ([]*schemapb.FieldData, error) {
	var out []*schemapb.FieldData
	for i, fd := range fields {
		f := c.Field(fd.GetFieldName())
		if f == nil {
			continue
		}
		next, err := conv(fd, f)
		if err != nil {
			return nil, err
		}
		if next == fd {
			continue
		}
		if out == nil {
			out = append([]*schemapb.FieldData(nil), fields...)
		}
		out[i] = next
	}
	if out == nil {
		return fields, nil
	}
	return out, nil
}

// timeFields parses the "time_fields" parameter ("year,month day").
func timeFields(params []*commonpb.KeyValuePair) []string {
	for _, kv := range params {
		if kv.GetKey() == timeFieldsKey {
			return strings.FieldsFunc(kv.GetValue(), func(r rune) bool { return r == ',' || r == ' ' })
		}
	}
	return nil
}

// timestamptzOutput rewrites the Timestamptz columns of a read's result
// as Milvus 2.6 returns them: ISO strings in zone, or with fields an Int64
// array per row of the named calendar fields. Clients that predate that
// format (clientSDKs.legacyTimestamptz) keep the microseconds.
func (s *Server) timestamptzOutput(ctx context.Context, fds []*schemapb.FieldData, zone string, fields []string) error {
	if err := geometryOutput(fds); err != nil { // WKB to WKT, for every client
		return err
	}
	if s.clients.legacyTimestamptz(clientOf(ctx)) && len(fields) == 0 {
		return nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return errInvalidMsg("got invalid timezone: %s", zone)
	}
	for _, fd := range fds {
		if fd.GetType() != schemapb.DataType_Timestamptz {
			continue
		}
		data := fd.GetScalars().GetTimestamptzData()
		if data == nil {
			continue
		}
		if len(fields) > 0 {
			rows := make([]*schemapb.ScalarField, len(data.GetData()))
			for i, us := range data.GetData() {
				v, err := timestamptz.Parts(us, loc, fields)
				if err != nil {
					return errInvalidMsg("%s", err.Error())
				}
				rows[i] = &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: v}}}
			}
			fd.Type = schemapb.DataType_Array
			fd.GetScalars().Data = &schemapb.ScalarField_ArrayData{ArrayData: &schemapb.ArrayArray{Data: rows, ElementType: schemapb.DataType_Int64}}
			continue
		}
		strs := make([]string, len(data.GetData()))
		for i, us := range data.GetData() {
			strs[i] = timestamptz.Format(us, loc)
		}
		fd.GetScalars().Data = &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: strs}}
	}
	return nil
}

// clientSDKs remembers which SDK each connection identifier belongs to
// (from Connect's ClientInfo), for the one place where the newest Go SDK
// on the module proxy (v2.6.2) cannot read what Milvus 2.6 returns: it
// decodes Timestamptz output from timestamptz_data, while the server sends
// ISO strings in string_data (the SDK was aligned in milvus#47304, after
// v2.6.2). Such connections get microseconds.
type clientSDKs struct {
	mu     sync.Mutex // guards legacy
	legacy map[string]bool
}

// ClientConnected records the SDK a connection identifier belongs to.
func (s *Server) ClientConnected(id int64, info *commonpb.ClientInfo) {
	legacy := info.GetSdkType() == "GoMilvusClient" && versionAtMost(info.GetSdkVersion(), 2, 6, 2)
	key := strconv.FormatInt(id, 10)
	c := &s.clients
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.legacy == nil {
		c.legacy = map[string]bool{}
	}
	if !legacy {
		delete(c.legacy, key)
		return
	}
	if len(c.legacy) >= maxSessions {
		for k := range c.legacy { // evict an arbitrary client: it gets ISO strings
			delete(c.legacy, k)
			break
		}
	}
	c.legacy[key] = true
}

func (c *clientSDKs) legacyTimestamptz(id string) bool {
	if id == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.legacy[id]
}

// versionAtMost reports whether a "major.minor.patch[-suffix]" version is
// at most the given one; an unparsable version is not.
func versionAtMost(v string, major, minor, patch int) bool {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		n[i] = x
	}
	want := [3]int{major, minor, patch}
	for i := range n {
		if n[i] != want[i] {
			return n[i] < want[i]
		}
	}
	return true
}
