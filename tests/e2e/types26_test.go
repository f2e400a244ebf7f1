package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"
	"github.com/milvus-io/milvus/client/v2/column"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/geometry"
)

// Milvus 2.6 data types: Timestamptz, nullable vectors, Geometry.

// rawService is a gRPC client that never calls Connect, as clients other
// than the Go SDK up to v2.6.2 see the server (Timestamptz as ISO strings).
// isoColumn sends a VarChar column's strings as a Timestamptz column, as
// Milvus 2.6 expects them (ISO-8601 in string_data): the Go SDK v2.6.2's
// own Timestamptz column cannot be encoded (it panics in FieldData).
type isoColumn struct{ column.Column }

func (c isoColumn) Type() entity.FieldType { return entity.FieldType(schemapb.DataType_Timestamptz) }

func (c isoColumn) FieldData() *schemapb.FieldData {
	fd := c.Column.FieldData()
	fd.Type = schemapb.DataType_Timestamptz
	return fd
}

// tstzRow is the oracle's view of one row of the Timestamptz collection.
type tstzRow struct {
	ts    int64 // microseconds; meaningful when valid
	valid bool
	ts2   int64 // the field with a default
}

func TestTimestamptzEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	const name, dim = "tstz", 4
	sh, _ := time.LoadLocation("Asia/Shanghai")
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	defaultTS := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).UnixMicro()

	// The Go SDK v2.6.2 names Timestamptz 15 (entity.FieldTypeTimestamptz),
	// which Milvus 2.6 does not know (the SDK was aligned later, milvus#47304):
	// its users spell the server's type, 26.
	tstzType := entity.FieldType(schemapb.DataType_Timestamptz)
	// An unknown zone is refused at creation, with Milvus's text.
	schema := func(n string) *entity.Schema {
		return entity.NewSchema().WithName(n).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("ts").WithDataType(tstzType).WithNullable(true)).
			WithField(entity.NewField().WithName("ts2").WithDataType(tstzType).WithDefaultValueTimestamptz(defaultTS)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	}
	err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("badzone", schema("badzone")).WithProperty("timezone", "Mars/Olympus"))
	wantCode(t, err, 1100, "unknown or invalid IANA Time Zone ID: Mars/Olympus")

	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema(name)).WithProperty("timezone", "Asia/Shanghai")))
	coll, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption(name))
	must(t, err)
	if coll.Properties["timezone"] != "Asia/Shanghai" {
		t.Fatalf("properties %v", coll.Properties)
	}
	// A collection created without a zone gets UTC, as in Milvus.
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("utc", schema("utc"))))
	if c, err := cli.DescribeCollection(ctx, milvusclient.NewDescribeCollectionOption("utc")); err != nil || c.Properties["timezone"] != "UTC" {
		t.Fatalf("default zone: %v, %v", c.Properties, err)
	}
	// The default value is described as an ISO string in the collection's zone.
	d, err := raw.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: name})
	must(t, statusErr(d.GetStatus(), err))
	if got := d.GetSchema().GetFields()[2].GetDefaultValue().GetStringData(); got != "2024-06-01T20:00:00+08:00" {
		t.Fatalf("described default %q", got)
	}

	r := rand.New(rand.NewPCG(7, 7))
	const n = 150
	rows := map[int64]tstzRow{}
	at := func(i int) int64 { return base.Add(time.Duration(i)*37*time.Minute).UnixMicro() + int64(i) }

	// Rows 0..49: column-based through the SDK, ISO strings in several
	// forms: naive strings are read in the collection's zone.
	iso := func(i int, us int64) string {
		tm := time.UnixMicro(us)
		switch i % 3 {
		case 0:
			return tm.UTC().Format(time.RFC3339Nano)
		case 1:
			return tm.In(sh).Format("2006-01-02 15:04:05.999999") // naive: Asia/Shanghai
		}
		return tm.In(time.FixedZone("", -5*3600)).Format("2006-01-02T15:04:05.999999-07:00")
	}
	{
		idv := make([]int64, 50)
		tsv := make([]string, 0, 50)
		valid := make([]bool, 50)
		ts2 := make([]string, 50)
		for i := range idv {
			idv[i] = int64(i)
			ts2[i] = iso(i+1, at(i)+1000)
			valid[i] = i%7 != 3
			if valid[i] {
				tsv = append(tsv, iso(i, at(i)))
			}
			rows[int64(i)] = tstzRow{ts: at(i), valid: valid[i], ts2: at(i) + 1000}
		}
		tsCol, err := column.NewNullableColumnVarChar("ts", tsv, valid)
		must(t, err)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", idv).
			WithColumns(isoColumn{tsCol}, isoColumn{column.NewColumnVarChar("ts2", ts2)}).
			WithFloatVectorColumn("vec", dim, randomVectors(r, 50, dim)))
		must(t, err)
	}
	// Rows 50..99: microseconds in timestamptz_data (what the SDK's own
	// Timestamptz column means to send); ts2 left out takes its default.
	{
		ids := make([]int64, 50)
		us := make([]int64, 50)
		vecs := make([]float32, 0, 50*dim)
		for i := range ids {
			id := 50 + i
			ids[i], us[i] = int64(id), at(id)
			rows[int64(id)] = tstzRow{ts: at(id), valid: true, ts2: defaultTS}
			vecs = append(vecs, randomVectors(r, 1, dim)[0]...)
		}
		resp, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: name, NumRows: 50, FieldsData: []*schemapb.FieldData{
			{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: ids}}}}},
			{FieldName: "ts", Type: schemapb.DataType_Timestamptz, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_TimestamptzData{TimestamptzData: &schemapb.TimestamptzArray{Data: us}}}}},
			{FieldName: "vec", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: vecs}}}}},
		}})
		must(t, statusErr(resp.GetStatus(), err))
	}
	// Rows 100..149: row-based through the RESTful API, ISO strings and nulls.
	{
		var data []map[string]any
		for id := 100; id < n; id++ {
			row := map[string]any{"id": id, "vec": randomVectors(r, 1, dim)[0], "ts2": time.UnixMicro(at(id)).In(sh).Format(time.RFC3339Nano)}
			if id%5 == 0 {
				row["ts"] = nil
			} else {
				row["ts"] = time.UnixMicro(at(id)).UTC().Format(time.RFC3339Nano)
			}
			data = append(data, row)
			rows[int64(id)] = tstzRow{ts: at(id), valid: id%5 != 0, ts2: at(id)}
		}
		restOK(t, "http://"+srv.addr, "/entities/insert", map[string]any{"collectionName": name, "data": data})
	}

	// Malformed values get Milvus's errors.
	bad, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: name, NumRows: 1, FieldsData: []*schemapb.FieldData{
		{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: []int64{999}}}}}},
		{FieldName: "ts", Type: schemapb.DataType_Timestamptz, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_StringData{StringData: &schemapb.StringArray{Data: []string{"2025-02-30T00:00:00Z"}}}}}},
		{FieldName: "vec", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: make([]float32, dim)}}}}},
	}})
	if err != nil || bad.GetStatus().GetCode() != 1100 || !strings.Contains(bad.GetStatus().GetReason(), "got invalid timestamptz string '2025-02-30T00:00:00Z'") {
		t.Fatalf("bad timestamp insert: %v %v", bad.GetStatus(), err)
	}

	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	check := func(stage string) {
		t.Helper()
		// The SDK (v2.6.2) reads microseconds.
		rs, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("ts", "ts2")))
		must(t, err)
		idCol := int64Col(t, rs, "id")
		if len(idCol) != len(rows) {
			t.Fatalf("%s: %d rows, want %d", stage, len(idCol), len(rows))
		}
		tsCol, ts2Col := rs.GetColumn("ts"), rs.GetColumn("ts2")
		for i, id := range idCol {
			want := rows[id]
			null, err := tsCol.IsNull(i)
			must(t, err)
			if null == want.valid {
				t.Fatalf("%s: id %d null %v, want valid %v", stage, id, null, want.valid)
			}
			if !null {
				if v, err := tsCol.Get(i); err != nil || v.(int64) != want.ts {
					t.Fatalf("%s: id %d ts %v (%v), want %d", stage, id, v, err, want.ts)
				}
			}
			if v, err := ts2Col.Get(i); err != nil || v.(int64) != want.ts2 {
				t.Fatalf("%s: id %d ts2 %v (%v), want %d", stage, id, v, err, want.ts2)
			}
		}

		// Other clients get ISO strings in the collection's zone, or the request's.
		for _, zone := range []string{"", "UTC", "America/New_York"} {
			req := &milvuspb.QueryRequest{CollectionName: name, Expr: "id in [0, 3, 51, 120]", OutputFields: []string{"ts"},
				ConsistencyLevel: commonpb.ConsistencyLevel_Strong}
			loc := sh
			if zone != "" {
				req.QueryParams = []*commonpb.KeyValuePair{{Key: "timezone", Value: zone}}
				loc, _ = time.LoadLocation(zone)
			}
			qr, err := raw.Query(ctx, req)
			must(t, statusErr(qr.GetStatus(), err))
			var idsOut []int64
			var strs []string
			var valid []bool
			for _, fd := range qr.GetFieldsData() {
				switch fd.GetFieldName() {
				case "id":
					idsOut = fd.GetScalars().GetLongData().GetData()
				case "ts":
					if fd.GetType() != schemapb.DataType_Timestamptz {
						t.Fatalf("%s: ts output type %v", stage, fd.GetType())
					}
					strs, valid = fd.GetScalars().GetStringData().GetData(), fd.GetValidData()
				}
			}
			present := 0
			for _, id := range []int64{0, 3, 51, 120} {
				if _, ok := rows[id]; ok {
					present++
				}
			}
			if len(idsOut) != present || len(strs) != present || len(valid) != present {
				t.Fatalf("%s zone %q: ids %v strings %v valid %v", stage, zone, idsOut, strs, valid)
			}
			for i, id := range idsOut {
				want := rows[id]
				if valid[i] != want.valid {
					t.Fatalf("%s: id %d valid %v", stage, id, valid[i])
				}
				if w := time.UnixMicro(want.ts).In(loc).Format(time.RFC3339Nano); want.valid && strs[i] != w {
					t.Fatalf("%s zone %q: id %d ts %q, want %q", stage, zone, id, strs[i], w)
				}
			}
		}

		// Filters with ISO strings against a brute-force evaluation.
		cut := time.Date(2025, 1, 2, 12, 0, 0, 0, sh)
		lo, hi := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)
		for _, fc := range []struct {
			filter string
			want   func(r tstzRow) bool
		}{
			{`ts > ISO '2025-01-02T12:00:00'`, func(r tstzRow) bool { return r.valid && r.ts > cut.UnixMicro() }}, // naive: Asia/Shanghai
			{`ts <= iso '2025-01-02T04:00:00Z'`, func(r tstzRow) bool { return r.valid && r.ts <= cut.UnixMicro() }},
			{`ISO '2025-01-02T00:00:00Z' < ts and ts < ISO '2025-01-03T00:00:00Z'`, func(r tstzRow) bool {
				return r.valid && r.ts > lo.UnixMicro() && r.ts < hi.UnixMicro()
			}},
			{`ts == ISO '` + time.UnixMicro(at(11)).UTC().Format(time.RFC3339Nano) + `'`, func(r tstzRow) bool { return r.valid && r.ts == at(11) }},
			{`ts is null or ts2 < ISO '2025-01-01T00:00:00Z'`, func(r tstzRow) bool { return !r.valid || r.ts2 < base.UnixMicro() }},
			{`not (ts >= ISO '2025-01-02T00:00:00Z')`, func(r tstzRow) bool { return r.valid && r.ts < lo.UnixMicro() }},
			{`ts + INTERVAL 'P1DT6H' > ISO '2025-01-03T00:00:00Z'`, func(r tstzRow) bool { // whole seconds, as Milvus
				return r.valid && time.UnixMicro(r.ts).Truncate(time.Second).Add(30*time.Hour).After(hi)
			}},
		} {
			var want []int64
			for id, row := range rows {
				if fc.want(row) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			if len(want) == 0 || len(want) == len(rows) {
				t.Fatalf("filter %s selects %d of %d rows: a weak case", fc.filter, len(want), len(rows))
			}
			rs, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(name).WithFilter(fc.filter)))
			must(t, err)
			if got := sortedCopy(int64Col(t, rs, "id")); !slices.Equal(got, want) {
				t.Fatalf("%s: %s: %s", stage, fc.filter, diffIDs(got, want))
			}
		}

		// Search with output fields and a filter.
		sr, err := cli.Search(ctx, strong(milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(make([]float32, dim))}).
			WithFilter(`ts < ISO '2025-01-02T00:00:00Z'`).WithOutputFields("ts")))
		must(t, err)
		if sr[0].ResultCount == 0 {
			t.Fatalf("%s: search found nothing", stage)
		}
		col := sr[0].GetColumn("ts")
		for i := 0; i < sr[0].ResultCount; i++ {
			id, _ := sr[0].IDs.GetAsInt64(i)
			v, err := col.Get(i)
			if err != nil || v.(int64) != rows[id].ts || !rows[id].valid || rows[id].ts >= lo.UnixMicro() {
				t.Fatalf("%s: search hit %d ts %v (%v), row %+v", stage, id, v, err, rows[id])
			}
		}
	}
	check("growing")

	// Upsert a row with a new time and delete by a time filter.
	newTS := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	newISO := time.UnixMicro(newTS).UTC().Format(time.RFC3339)
	_, err = cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{3}).
		WithColumns(isoColumn{column.NewColumnVarChar("ts", []string{newISO})}, isoColumn{column.NewColumnVarChar("ts2", []string{newISO})}).
		WithFloatVectorColumn("vec", dim, randomVectors(r, 1, dim)))
	must(t, err)
	rows[3] = tstzRow{ts: newTS, valid: true, ts2: newTS}
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr(`ts < ISO '2025-01-01T06:00:00Z'`))
	must(t, err)
	for id, row := range rows {
		if row.valid && row.ts < base.Add(6*time.Hour).UnixMicro() {
			delete(rows, id)
		}
	}
	check("after upsert and delete")

	// Errors on reads.
	_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`id > ISO '2025-01-01T00:00:00Z'`))
	wantCode(t, err, 1100, "field 'id' is not a timestamptz datatype")
	_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter(`ts > ISO 'noon'`))
	wantCode(t, err, 1100, "invalid timestamp string: 'noon'")
	qr, err := raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id > 0", OutputFields: []string{"ts"},
		QueryParams: []*commonpb.KeyValuePair{{Key: "timezone", Value: "Nowhere/Town"}}})
	if err != nil || qr.GetStatus().GetCode() != 1100 || !strings.Contains(qr.GetStatus().GetReason(), "unknown or invalid IANA Time Zone ID: Nowhere/Town") {
		t.Fatalf("bad zone: %v %v", qr.GetStatus(), err)
	}
	// time_fields extracts calendar fields in the zone.
	qr, err = raw.Query(ctx, &milvuspb.QueryRequest{CollectionName: name, Expr: "id == 3", OutputFields: []string{"ts"},
		ConsistencyLevel: commonpb.ConsistencyLevel_Strong,
		QueryParams:      []*commonpb.KeyValuePair{{Key: "time_fields", Value: "year,month, day hour"}}})
	must(t, statusErr(qr.GetStatus(), err))
	for _, fd := range qr.GetFieldsData() {
		if fd.GetFieldName() == "ts" {
			got := fd.GetScalars().GetArrayData().GetData()
			if len(got) != 1 || !slices.Equal(got[0].GetLongData().GetData(), []int64{2030, 1, 1, 8}) {
				t.Fatalf("time_fields: %v", fd)
			}
		}
	}

	// Sealed: flush, restart, read back from the binlogs.
	flush(t, ctx, cli, name)
	check("flushed")
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	raw = rawService(t, srv)
	load(t, ctx, cli, name)
	check("after restart")
}

// geoRow is the oracle's view of one row of the Geometry collection: a
// point or an axis-aligned rectangle with integer corners.
type geoRow struct {
	point          bool
	x0, y0, x1, y1 float64
	null           bool
	geo2           string // canonical WKT of the defaulted field
}

func (g geoRow) wkt() string {
	if g.point {
		return fmt.Sprintf("POINT (%g %g)", g.x0, g.y0)
	}
	return fmt.Sprintf("POLYGON ((%g %g, %g %g, %g %g, %g %g, %g %g))", g.x0, g.y0, g.x1, g.y0, g.x1, g.y1, g.x0, g.y1, g.x0, g.y0)
}

func TestGeometryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	cli := srv.client(t)
	raw := rawService(t, srv)
	ctx := testContext(t)
	const name, dim = "geo", 4
	schema := entity.NewSchema().WithName(name).
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("geo").WithDataType(entity.FieldTypeGeometry).WithNullable(true)).
		WithField(entity.NewField().WithName("geo2").WithDataType(entity.FieldTypeGeometry).WithDefaultValueString("POINT(-1 -1)")).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	must(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)))
	d, err := raw.DescribeCollection(ctx, &milvuspb.DescribeCollectionRequest{CollectionName: name})
	must(t, statusErr(d.GetStatus(), err))
	if got := d.GetSchema().GetFields()[2].GetDefaultValue().GetStringData(); got != "POINT (-1 -1)" {
		t.Fatalf("described default %q", got)
	}
	bad := entity.NewSchema().WithName("badgeo").
		WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
		WithField(entity.NewField().WithName("geo").WithDataType(entity.FieldTypeGeometry).WithDefaultValueString("POINT(1)")).
		WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim))
	wantCode(t, cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption("badgeo", bad)), 1100, "invalid default value for geometry field")

	r := rand.New(rand.NewPCG(11, 12))
	rows := map[int64]geoRow{}
	shape := func() geoRow {
		g := geoRow{point: r.IntN(2) == 0, x0: float64(r.IntN(10)), y0: float64(r.IntN(10))}
		g.x1, g.y1 = g.x0, g.y0
		if !g.point {
			g.x1, g.y1 = g.x0+float64(1+r.IntN(6)), g.y0+float64(1+r.IntN(6))
		}
		return g
	}
	// Rows 0..79: column-based WKT through the SDK, some null, geo2 given.
	{
		ids := make([]int64, 80)
		var wkts []string
		valid := make([]bool, 80)
		geo2 := make([]string, 80)
		for i := range ids {
			g := shape()
			g.null = i%9 == 4
			g.geo2 = fmt.Sprintf("POINT (%d %d)", i, -i)
			ids[i], valid[i], geo2[i] = int64(i), !g.null, fmt.Sprintf("point(%d %d)", i, -i)
			// The SDK's (v2.6.2) Geometry column counts its values as rows, so
			// it is nullable only in the full form: null rows get a slot too.
			wkts = append(wkts, strings.ReplaceAll(g.wkt(), " (", "(")) // accepted without the space too
			rows[int64(i)] = g
		}
		geoCol, err := column.NewNullableColumnGeometryWKT("geo", wkts, valid, column.WithSparseNullableMode[string](true))
		must(t, err)
		_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", ids).
			WithColumns(geoCol, column.NewColumnGeometryWKT("geo2", geo2)).WithFloatVectorColumn("vec", dim, randomVectors(r, 80, dim)))
		must(t, err)
	}
	// Rows 80..119: WKB in geometry_data; geo2 left out takes its default.
	{
		ids := make([]int64, 40)
		wkbs := make([][]byte, 40)
		vecs := make([]float32, 0, 40*dim)
		for i := range ids {
			g := shape()
			g.geo2 = "POINT (-1 -1)"
			ids[i] = int64(80 + i)
			wkbs[i] = wkbOf(t, g)
			rows[ids[i]] = g
			vecs = append(vecs, randomVectors(r, 1, dim)[0]...)
		}
		resp, err := raw.Insert(ctx, &milvuspb.InsertRequest{CollectionName: name, NumRows: 40, FieldsData: []*schemapb.FieldData{
			{FieldName: "id", Type: schemapb.DataType_Int64, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_LongData{LongData: &schemapb.LongArray{Data: ids}}}}},
			{FieldName: "geo", Type: schemapb.DataType_Geometry, Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{Data: &schemapb.ScalarField_GeometryData{GeometryData: &schemapb.GeometryArray{Data: wkbs}}}}},
			{FieldName: "vec", Type: schemapb.DataType_FloatVector, Field: &schemapb.FieldData_Vectors{Vectors: &schemapb.VectorField{Dim: dim, Data: &schemapb.VectorField_FloatVector{FloatVector: &schemapb.FloatArray{Data: vecs}}}}},
		}})
		must(t, statusErr(resp.GetStatus(), err))
	}
	// Rows 120..159: row-based WKT through the RESTful API.
	{
		var data []map[string]any
		for id := 120; id < 160; id++ {
			g := shape()
			g.null = id%7 == 0
			g.geo2 = "POINT (-1 -1)"
			row := map[string]any{"id": id, "vec": randomVectors(r, 1, dim)[0], "geo": nil}
			if !g.null {
				row["geo"] = g.wkt()
			}
			data = append(data, row)
			rows[int64(id)] = g
		}
		restOK(t, "http://"+srv.addr, "/entities/insert", map[string]any{"collectionName": name, "data": data})
	}
	// Malformed WKT is refused.
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{999}).
		WithColumns(column.NewColumnGeometryWKT("geo", []string{"POLYGON((0 0, 1 1"}), column.NewColumnGeometryWKT("geo2", []string{"POINT(0 0)"})).
		WithFloatVectorColumn("vec", dim, randomVectors(r, 1, dim)))
	if err == nil {
		t.Fatal("malformed WKT accepted")
	}

	// RTREE on geometry (and only there).
	_, err = cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "id", index.NewRTreeIndex()))
	wantCode(t, err, 1100, "RTREE index can only be built on geometry field")
	it, err := cli.CreateIndex(ctx, milvusclient.NewCreateIndexOption(name, "geo", index.NewRTreeIndex()))
	must(t, err)
	must(t, it.Await(ctx))
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	const q = "POLYGON((2 3, 6 3, 6 7, 2 7, 2 3))"
	inClosed := func(g geoRow) bool { return g.x0 <= 6 && 2 <= g.x1 && g.y0 <= 7 && 3 <= g.y1 }
	check := func(stage string) {
		t.Helper()
		rs, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(name).WithFilter("id >= 0").WithOutputFields("geo", "geo2")))
		must(t, err)
		idCol := int64Col(t, rs, "id")
		if len(idCol) != len(rows) {
			t.Fatalf("%s: %d rows, want %d", stage, len(idCol), len(rows))
		}
		geoCol, geo2Col := rs.GetColumn("geo"), rs.GetColumn("geo2")
		for i, id := range idCol {
			want := rows[id]
			null, err := geoCol.IsNull(i)
			must(t, err)
			if null != want.null {
				t.Fatalf("%s: id %d null %v", stage, id, null)
			}
			if !null {
				if v, err := geoCol.GetAsString(i); err != nil || v != want.wkt() {
					t.Fatalf("%s: id %d geo %q (%v), want %q", stage, id, v, err, want.wkt())
				}
			}
			if v, err := geo2Col.GetAsString(i); err != nil || v != want.geo2 {
				t.Fatalf("%s: id %d geo2 %q (%v), want %q", stage, id, v, err, want.geo2)
			}
		}
		for _, fc := range []struct {
			filter string
			want   func(g geoRow) bool
		}{
			{"ST_INTERSECTS(geo, '" + q + "')", inClosed},
			{"st_within(geo, '" + q + "')", func(g geoRow) bool {
				if g.point {
					return 2 < g.x0 && g.x0 < 6 && 3 < g.y0 && g.y0 < 7
				}
				return 2 <= g.x0 && g.x1 <= 6 && 3 <= g.y0 && g.y1 <= 7
			}},
			{"ST_CONTAINS(geo, 'POINT(4 5)')", func(g geoRow) bool {
				if g.point { // a point contains only itself
					return g.x0 == 4 && g.y0 == 5
				}
				return g.x0 < 4 && 4 < g.x1 && g.y0 < 5 && 5 < g.y1
			}},
			{"ST_DWITHIN(geo, 'POINT(4 5)', 160000) and id < 120", func(g geoRow) bool {
				if !g.point {
					dx := max(0, g.x0-4, 4-g.x1)
					dy := max(0, g.y0-5, 5-g.y1)
					c := math.Cos(5 * math.Pi / 180)
					return math.Hypot(dx, dy)*111320*math.Sqrt((1+c*c)/2) <= 160000
				}
				rad := math.Pi / 180
				a := math.Pow(math.Sin((g.y0-5)*rad/2), 2) + math.Cos(g.y0*rad)*math.Cos(5*rad)*math.Pow(math.Sin((g.x0-4)*rad/2), 2)
				return 2*6371000*math.Asin(math.Sqrt(a)) <= 160000
			}},
			{"ST_TOUCHES(geo, '" + q + "') or geo is null", nil},
			{"ST_OVERLAPS(geo, '" + q + "')", nil},
			{"not ST_INTERSECTS(geo, '" + q + "')", func(g geoRow) bool { return !inClosed(g) }},
		} {
			var want []int64
			for id, g := range rows {
				ok := false
				switch {
				case fc.want == nil: // checked against the predicate library on the row's WKT
					ok = g.null && strings.Contains(fc.filter, "is null") || !g.null && libraryMatch(t, fc.filter, g)
				case strings.Contains(fc.filter, "id < 120"):
					ok = !g.null && id < 120 && fc.want(g)
				default:
					ok = !g.null && fc.want(g)
				}
				if ok {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			if len(want) == 0 || len(want) == len(rows) {
				t.Fatalf("filter %s selects %d of %d rows: a weak case", fc.filter, len(want), len(rows))
			}
			rs, err := cli.Query(ctx, strong(milvusclient.NewQueryOption(name).WithFilter(fc.filter)))
			must(t, err)
			if got := sortedCopy(int64Col(t, rs, "id")); !slices.Equal(got, want) {
				t.Fatalf("%s: %s: %s", stage, fc.filter, diffIDs(got, want))
			}
		}
		sr, err := cli.Search(ctx, strong(milvusclient.NewSearchOption(name, 10, []entity.Vector{entity.FloatVector(make([]float32, dim))}).
			WithFilter("ST_INTERSECTS(geo, '"+q+"')").WithOutputFields("geo")))
		must(t, err)
		if sr[0].ResultCount == 0 {
			t.Fatalf("%s: search found nothing", stage)
		}
		for i := 0; i < sr[0].ResultCount; i++ {
			id, _ := sr[0].IDs.GetAsInt64(i)
			v, err := sr[0].GetColumn("geo").GetAsString(i)
			if err != nil || v != rows[id].wkt() || !inClosed(rows[id]) {
				t.Fatalf("%s: search hit %d geo %q (%v)", stage, id, v, err)
			}
		}
	}
	check("growing")

	_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("ST_EQUALS(id, 'POINT(1 1)')"))
	wantCode(t, err, 1100, "STEuqals operation are only supported on geometry fields now")
	_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithFilter("ST_DWITHIN(geo, 'LINESTRING(0 0, 1 1)', 10)"))
	wantCode(t, err, 1100, "only supports POINT geometry")

	// Upsert one row into a new shape; delete by a spatial filter.
	_, err = cli.Upsert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{1}).
		WithColumns(column.NewColumnGeometryWKT("geo", []string{"POINT(100 100)"}), column.NewColumnGeometryWKT("geo2", []string{"POINT(1 -1)"})).
		WithFloatVectorColumn("vec", dim, randomVectors(r, 1, dim)))
	must(t, err)
	rows[1] = geoRow{point: true, x0: 100, y0: 100, x1: 100, y1: 100, geo2: "POINT (1 -1)"}
	_, err = cli.Delete(ctx, milvusclient.NewDeleteOption(name).WithExpr("ST_WITHIN(geo, 'POLYGON((-1 -1, 3 -1, 3 3, -1 3, -1 -1))')"))
	must(t, err)
	for id, g := range rows {
		// Within: a point strictly inside; a rectangle inside, edges may be shared.
		if !g.null && (g.point && g.x0 < 3 && g.y0 < 3 || !g.point && g.x1 <= 3 && g.y1 <= 3) {
			delete(rows, id)
		}
	}
	check("after upsert and delete")

	flush(t, ctx, cli, name)
	check("flushed")
	srv.stop()
	srv = startServer(t, dir)
	cli = srv.client(t)
	load(t, ctx, cli, name)
	check("after restart")
}

func wkbOf(t *testing.T, g geoRow) []byte {
	t.Helper()
	b, err := geometry.WKTToWKB(g.wkt())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// libraryMatch evaluates the single ST_ call at the start of filter on a
// row with the predicate library directly.
func libraryMatch(t *testing.T, filter string, g geoRow) bool {
	t.Helper()
	name := strings.ToLower(filter[:strings.IndexByte(filter, '(')])
	op, ok := geometry.OpByName(name)
	if !ok {
		t.Fatalf("no predicate in %s", filter)
	}
	q := filter[strings.IndexByte(filter, '\'')+1:]
	q = q[:strings.IndexByte(q, '\'')]
	p, err := geometry.NewPredicate(op, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p.Match(wkbOf(t, g))
}
