package proxy

import (
	"context"
	"strings"
	"testing"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/geometry"
	"github.com/milvago/milvago/internal/model"
)

func TestTimestamptzAndGeometryDefaults(t *testing.T) {
	schema := &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "ts", DataType: schemapb.DataType_Timestamptz,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "2025-01-01 08:00:00"}}},
		{FieldID: 102, Name: "g", DataType: schemapb.DataType_Geometry,
			DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "point(1 2)"}}},
	}}
	s := &Server{}
	props, err := s.createProperties(context.Background(), "default", schema, []*commonpb.KeyValuePair{{Key: "timezone", Value: "Asia/Shanghai"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := schema.Fields[1].GetDefaultValue().GetTimestamptzData(); got != 1735689600000000 {
		t.Fatalf("stored default %d", got)
	}
	if len(schema.Fields[2].GetDefaultValue().GetBytesData()) == 0 {
		t.Fatal("geometry default not stored as WKB")
	}
	c := &model.Collection{Schema: schema, Properties: props}
	d := describedSchema(c)
	if got := d.Fields[1].GetDefaultValue().GetStringData(); got != "2025-01-01T08:00:00+08:00" {
		t.Fatalf("described default %q", got)
	}
	if got := d.Fields[2].GetDefaultValue().GetStringData(); got != "POINT (1 2)" {
		t.Fatalf("described geometry default %q", got)
	}
	if schema.Fields[1].GetDefaultValue().GetTimestamptzData() == 0 {
		t.Fatal("describing changed the stored schema")
	}

	_, err = s.createProperties(context.Background(), "default", schema, []*commonpb.KeyValuePair{{Key: "timezone", Value: "Atlantis"}})
	if err == nil || !strings.Contains(err.Error(), "unknown or invalid IANA Time Zone ID: Atlantis") {
		t.Fatalf("bad zone: %v", err)
	}
	bad := &schemapb.CollectionSchema{Fields: []*schemapb.FieldSchema{{Name: "g", DataType: schemapb.DataType_Geometry,
		DefaultValue: &schemapb.ValueField{Data: &schemapb.ValueField_StringData{StringData: "POINT(1)"}}}}}
	if _, err := s.createProperties(context.Background(), "default", bad, []*commonpb.KeyValuePair{{Key: "timezone", Value: "UTC"}}); err == nil ||
		!strings.Contains(err.Error(), "invalid default value for geometry field") {
		t.Fatalf("bad geometry default: %v", err)
	}
}

func TestTypedInputAndOutput(t *testing.T) {
	schema := &schemapb.CollectionSchema{Name: "c", Fields: []*schemapb.FieldSchema{
		{FieldID: 101, Name: "ts", DataType: schemapb.DataType_Timestamptz, Nullable: true},
		{FieldID: 102, Name: "g", DataType: schemapb.DataType_Geometry, Nullable: true},
	}}
	c := &model.Collection{Schema: schema, Properties: []*commonpb.KeyValuePair{{Key: "timezone", Value: "UTC"}}}
	in := []*schemapb.FieldData{
		{FieldName: "ts", Type: schemapb.DataType_Timestamptz, ValidData: []bool{true, false},
			Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{"2025-01-01T00:00:00Z", ""}}}}}},
		{FieldName: "g", Type: schemapb.DataType_Geometry, ValidData: []bool{true},
			Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryWktData{GeometryWktData: &schemapb.GeometryWktArray{Data: []string{"LINESTRING(0 0,1 1)"}}}}}},
	}
	out, err := typedInput(c, in)
	if err != nil {
		t.Fatal(err)
	}
	if in[0].GetScalars().GetStringData() == nil {
		t.Fatal("the request was modified")
	}
	if got := out[0].GetScalars().GetTimestamptzData().GetData(); len(got) != 2 || got[0] != 1735689600000000 {
		t.Fatalf("timestamps %v", got)
	}
	wkb := out[1].GetScalars().GetGeometryData().GetData()
	if wkt, err := geometry.WKBToWKT(wkb[0]); err != nil || wkt != "LINESTRING (0 0, 1 1)" {
		t.Fatalf("geometry %q %v", wkt, err)
	}
	// Errors: a malformed time or WKT.
	in[0].GetScalars().GetStringData().Data[0] = "2025-01-01T25:00:00Z"
	if _, err := typedInput(c, in); err == nil || !strings.Contains(err.Error(), "got invalid timestamptz string '2025-01-01T25:00:00Z'") {
		t.Fatalf("bad time: %v", err)
	}
	in[0].GetScalars().GetStringData().Data[0] = "2025-01-01T00:00:00Z"
	in[1].GetScalars().GetGeometryWktData().Data[0] = "LINESTRING(0 0"
	if _, err := typedInput(c, in); err == nil {
		t.Fatal("bad WKT accepted")
	}

	// Output: ISO strings in the zone, WKT; a Go SDK <= 2.6.2 keeps microseconds.
	res := func() []*schemapb.FieldData {
		return []*schemapb.FieldData{
			{FieldName: "ts", Type: schemapb.DataType_Timestamptz, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
				Data: &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: []int64{1735689600123000}}}}}},
			{FieldName: "g", Type: schemapb.DataType_Geometry, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
				Data: &schemapb.ScalarField_GeometryData{GeometryData: &schemapb.GeometryArray{Data: wkb}}}}},
		}
	}
	s := &Server{}
	fds := res()
	if err := s.timestamptzOutput(context.Background(), fds, "Asia/Shanghai", nil); err != nil {
		t.Fatal(err)
	}
	if got := fds[0].GetScalars().GetStringData().GetData(); len(got) != 1 || got[0] != "2025-01-01T08:00:00.123+08:00" {
		t.Fatalf("iso output %v", got)
	}
	if got := fds[1].GetScalars().GetGeometryWktData().GetData(); len(got) != 1 || got[0] != "LINESTRING (0 0, 1 1)" {
		t.Fatalf("wkt output %v", got)
	}
	s.ClientConnected(7, &commonpb.ClientInfo{SdkType: "GoMilvusClient", SdkVersion: "2.6.2"})
	s.ClientConnected(8, &commonpb.ClientInfo{SdkType: "GoMilvusClient", SdkVersion: "2.6.3"})
	fds = res()
	if err := s.timestamptzOutput(WithClient(context.Background(), "7"), fds, "UTC", nil); err != nil {
		t.Fatal(err)
	}
	if fds[0].GetScalars().GetTimestamptzData() == nil || fds[1].GetScalars().GetGeometryWktData() == nil {
		t.Fatalf("legacy client output %v", fds)
	}
	fds = res()
	if err := s.timestamptzOutput(WithClient(context.Background(), "8"), fds, "UTC", nil); err != nil || fds[0].GetScalars().GetStringData() == nil {
		t.Fatalf("newer client output %v %v", fds, err)
	}
	fds = res()
	if err := s.timestamptzOutput(context.Background(), fds, "UTC", []string{"year", "hour"}); err != nil {
		t.Fatal(err)
	}
	if fds[0].GetType() != schemapb.DataType_Array || fds[0].GetScalars().GetArrayData().GetData()[0].GetLongData().GetData()[0] != 2025 {
		t.Fatalf("time_fields output %v", fds[0])
	}
	for v, want := range map[string]bool{"2.6.2": true, "v2.6.1": true, "2.5.9": true, "2.6.3": false, "3.0.0": false, "2.6.2-rc1": true, "x": false} {
		if versionAtMost(v, 2, 6, 2) != want {
			t.Fatalf("versionAtMost(%q)", v)
		}
	}
}
