package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/parquet-go/parquet-go"
)

// TestImportThroughput measures bulk import per format (rows/s and file
// MB/s, from the create call to Completed). Run with
// MILVAGO_IMPORT_BENCH=rows (e.g. 50000); docs/benchmarks.md has results.
func TestImportThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MILVAGO_IMPORT_BENCH"))
	if n <= 0 {
		t.Skip("set MILVAGO_IMPORT_BENCH=rows to measure import throughput")
	}
	const dim = 128
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	r := rand.New(rand.NewPCG(3, 4))
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = r.Float32()
		}
	}
	vecText := func(v []float32) string {
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	formats := map[string]func() ([]string, int){
		"JSON": func() ([]string, int) {
			var b strings.Builder
			b.WriteString(`{"rows":[`)
			for i := range n {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"id":%d,"vec":%s,"name":"row %d"}`, i, vecText(vecs[i]), i)
			}
			b.WriteString("]}")
			writeObject(t, srv, "bench/rows.json", []byte(b.String()))
			return []string{"bench/rows.json"}, b.Len()
		},
		"CSV": func() ([]string, int) {
			var b strings.Builder
			b.WriteString("id\tvec\tname\n")
			for i := range n {
				fmt.Fprintf(&b, "%d\t%s\trow %d\n", i, vecText(vecs[i]), i)
			}
			writeObject(t, srv, "bench/rows.csv", []byte(b.String()))
			return []string{"bench/rows.csv"}, b.Len()
		},
		"NumPy": func() ([]string, int) {
			var ids, vb, names bytes.Buffer
			for i := range n {
				binary.Write(&ids, binary.LittleEndian, int64(i))
				binary.Write(&vb, binary.LittleEndian, vecs[i])
				s := fmt.Sprintf("row %d", i)
				for k := range 16 {
					var c uint32
					if k < len(s) {
						c = uint32(s[k])
					}
					binary.Write(&names, binary.LittleEndian, c)
				}
			}
			a, b, c := npy("<i8", []int{n}, ids.Bytes()), npy("<f4", []int{n, dim}, vb.Bytes()), npy("<U16", []int{n}, names.Bytes())
			writeObject(t, srv, "bench/npy/id.npy", a)
			writeObject(t, srv, "bench/npy/vec.npy", b)
			writeObject(t, srv, "bench/npy/name.npy", c)
			return []string{"bench/npy/id.npy", "bench/npy/vec.npy", "bench/npy/name.npy"}, len(a) + len(b) + len(c)
		},
		"Parquet": func() ([]string, int) {
			type row struct {
				ID   int64     `parquet:"id"`
				Vec  []float32 `parquet:"vec,list"`
				Name string    `parquet:"name"`
			}
			rows := make([]row, n)
			for i := range rows {
				rows[i] = row{ID: int64(i), Vec: vecs[i], Name: fmt.Sprintf("row %d", i)}
			}
			var b bytes.Buffer
			if err := parquet.Write(&b, rows); err != nil {
				t.Fatal(err)
			}
			writeObject(t, srv, "bench/rows.parquet", b.Bytes())
			return []string{"bench/rows.parquet"}, b.Len()
		},
	}
	for _, format := range []string{"Parquet", "NumPy", "JSON", "CSV"} {
		name := "bench_" + strings.ToLower(format)
		schema := entity.NewSchema().WithName(name).
			WithField(entity.NewField().WithName("id").WithDataType(entity.FieldTypeInt64).WithIsPrimaryKey(true)).
			WithField(entity.NewField().WithName("vec").WithDataType(entity.FieldTypeFloatVector).WithDim(dim)).
			WithField(entity.NewField().WithName("name").WithDataType(entity.FieldTypeVarChar).WithMaxLength(64))
		if err := cli.CreateCollection(ctx, milvusclient.NewCreateCollectionOption(name, schema)); err != nil {
			t.Fatal(err)
		}
		files, size := formats[format]()
		opts := map[string]string{}
		if format == "CSV" {
			opts["sep"] = "\t"
		}
		start := time.Now()
		d := restOK(t, "http://"+srv.addr, "/jobs/import/create", map[string]any{"collectionName": name, "files": [][]string{files}, "options": opts}).(map[string]any)
		done := waitImport(t, srv, d["jobId"].(string))
		took := time.Since(start)
		if done["state"] != "Completed" || fmt.Sprint(done["importedRows"]) != strconv.Itoa(n) {
			t.Fatalf("%s: %v", format, done)
		}
		t.Logf("%-8s %d rows x %d-d, %.1f MB of files: %v, %.0f rows/s, %.1f MB/s", format, n, dim,
			float64(size)/1e6, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(size)/1e6/took.Seconds())
	}
}
