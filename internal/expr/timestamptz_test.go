package expr

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

func tstzSchema() *schemapb.CollectionSchema {
	return &schemapb.CollectionSchema{Name: "t", Fields: []*schemapb.FieldSchema{
		{FieldID: 100, Name: "id", DataType: schemapb.DataType_Int64, IsPrimaryKey: true},
		{FieldID: 101, Name: "ts", DataType: schemapb.DataType_Timestamptz, Nullable: true},
		{FieldID: 102, Name: "n", DataType: schemapb.DataType_Int64},
	}}
}

// TestTimestamptzOracle compares ISO comparisons and ranges on a
// Timestamptz column with a brute-force evaluation over time.Time.
func TestTimestamptzOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 500
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := &column.Scalar[int64]{Type: schemapb.DataType_Timestamptz, Data: make([]int64, n), Valid: make([]bool, n)}
	for i := range n {
		ts.Data[i] = base.Add(time.Duration(r.IntN(72*3600)) * time.Second).Add(time.Duration(r.IntN(1000)) * time.Microsecond).UnixMicro()
		ts.Valid[i] = r.IntN(10) != 0
	}
	b := &memBatch{n: n, cols: map[int64]column.Column{101: ts}}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	f := func(text, zone string, want func(t time.Time) bool) {
		t.Helper()
		e, err := ParseInZone(tstzSchema(), text, nil, zone)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got, err := e.Eval(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		matches := 0
		for i := range n {
			w := ts.Valid[i] && want(time.UnixMicro(ts.Data[i]))
			if got.Test(i) != w {
				t.Fatalf("%s row %d (%v, valid %v): got %v", text, i, time.UnixMicro(ts.Data[i]).UTC(), ts.Valid[i], got.Test(i))
			}
			if w {
				matches++
			}
		}
		if matches == 0 || matches == n {
			t.Fatalf("%s: %d of %d rows match; the case tests nothing", text, matches, n)
		}
	}
	day2 := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	day2sh := time.Date(2025, 1, 2, 0, 0, 0, 0, sh)
	f(`ts > ISO '2025-01-02T00:00:00Z'`, "UTC", func(t time.Time) bool { return t.After(day2) })
	f(`ts >= iso '2025-01-02T08:00:00+08:00'`, "UTC", func(t time.Time) bool { return !t.Before(day2) })
	f(`ISO '2025-01-02T00:00:00Z' > ts`, "UTC", func(t time.Time) bool { return t.Before(day2) })
	f(`ts < ISO '2025-01-02 00:00:00'`, "Asia/Shanghai", func(t time.Time) bool { return t.Before(day2sh) })
	f(`ts <= ISO '2025-01-02T00:00:00'`, "UTC", func(t time.Time) bool { return !t.After(day2) })
	f(`ts != ISO '2025-01-02T00:00:00Z'`, "UTC", func(t time.Time) bool { return !t.Equal(day2) })
	f(`ISO '2025-01-01T12:00:00Z' < ts < ISO '2025-01-02T12:00:00Z'`, "UTC", func(t time.Time) bool {
		return t.After(base.Add(12*time.Hour)) && t.Before(day2.Add(12*time.Hour))
	})
	f(`not (ts < ISO '2025-01-02T00:00:00Z') and ts < ISO '2025-01-03T00:00:00Z'`, "UTC", func(t time.Time) bool {
		return !t.Before(day2) && t.Before(day2.Add(24*time.Hour))
	})
	cut := day2.UnixMicro()
	f(`ts > `+itoa(cut), "UTC", func(t time.Time) bool { return t.UnixMicro() > cut }) // raw microseconds, as Milvus
	f(`ts in [`+itoa(ts.Data[0])+`, `+itoa(ts.Data[1])+`]`, "UTC", func(t time.Time) bool {
		return t.UnixMicro() == ts.Data[0] || t.UnixMicro() == ts.Data[1]
	})
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestTimestamptzErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := ParseInZone(tstzSchema(), text, nil, "UTC")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: error %v, want %q", text, err, want)
		}
	}
	f(`n > ISO '2025-01-01T00:00:00Z'`, "field 'n' is not a timestamptz datatype")
	f(`ts > ISO 'tomorrow'`, "invalid timestamp string: 'tomorrow'. Does not match any known format")
	f(`ts > ISO '2025-01-01T00:00:00+15:00'`, "UTC offset hour 15 is out of the valid range [-12, 14]")
	f(`ts > '2025-01-01'`, "comparisons between Timestamptz and VarChar are not supported")
	f(`ts + INTERVAL 'P1W' > ISO '2025-01-01T00:00:00Z'`, "invalid ISO 8601 duration: P1W")
	f(`n + INTERVAL 'P1D' > ISO '2025-01-01T00:00:00Z'`, "field 'n' is not a timestamptz datatype")
	f(`ts * INTERVAL 'P1D' > ISO '2025-01-01T00:00:00Z'`, "only + and - apply to an INTERVAL")
}

// TestTimestamptzInterval checks `ts ± INTERVAL` comparisons against
// calendar arithmetic done with time.Time, through the wire form.
func TestTimestamptzInterval(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n = 400
	ts := &column.Scalar[int64]{Type: schemapb.DataType_Timestamptz, Data: make([]int64, n)}
	base := time.Date(2024, 12, 15, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ts.Data[i] = base.Add(time.Duration(r.IntN(90*24*3600))*time.Second + time.Duration(r.IntN(1e6))*time.Microsecond).UnixMicro()
	}
	b := &memBatch{n: n, cols: map[int64]column.Column{101: ts}}
	f := func(text string, want func(t time.Time) bool) {
		t.Helper()
		e, err := ParseInZone(tstzSchema(), text, nil, "UTC")
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		wire, _ := e.Marshal()
		if e, err = Unmarshal(tstzSchema(), wire); err != nil {
			t.Fatalf("%s: %s: %v", text, wire, err)
		}
		got, err := e.Eval(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		matches := 0
		for i := range n {
			w := want(time.UnixMicro(ts.Data[i]).UTC().Truncate(time.Second)) // Milvus drops the fraction
			if got.Test(i) != w {
				t.Fatalf("%s: row %d %v: got %v", text, i, time.UnixMicro(ts.Data[i]).UTC(), got.Test(i))
			}
			if w {
				matches++
			}
		}
		if matches == 0 || matches == n {
			t.Fatalf("%s: %d of %d match: a weak case", text, matches, n)
		}
	}
	feb1 := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	f(`ts + INTERVAL 'P1M' >= ISO '2025-02-01T00:00:00Z'`, func(t time.Time) bool { return !t.AddDate(0, 1, 0).Before(feb1) })
	f(`ts - interval 'P1DT12H' < ISO '2025-01-10T00:00:00Z'`, func(t time.Time) bool {
		return t.Add(-36 * time.Hour).Before(time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC))
	})
	f(`ISO '2026-03-01T00:00:00Z' < ts + INTERVAL 'P1Y2M3DT4H5M6S'`, func(t time.Time) bool {
		return t.AddDate(1, 2, 3).Add(4*time.Hour + 5*time.Minute + 6*time.Second).After(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).AddDate(1, 0, 0))
	})
}
