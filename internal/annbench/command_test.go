package annbench

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/distance"
)

// writeDataset writes a small random data set with exact ground truth.
func writeDataset(t *testing.T, n, nq, d int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(k int) []float32 {
		v := make([]float32, k*d)
		for i := range v {
			v[i] = r.Float32()
		}
		return v
	}
	base, q := gen(n), gen(nq)
	gt := make([]int32, 0, nq*10)
	for i := range nq {
		ids := make([]int, n)
		for j := range ids {
			ids[j] = j
		}
		qi := q[i*d : (i+1)*d]
		sort.Slice(ids, func(a, b int) bool {
			return distance.L2SqRef(qi, base[ids[a]*d:(ids[a]+1)*d]) < distance.L2SqRef(qi, base[ids[b]*d:(ids[b]+1)*d])
		})
		for _, id := range ids[:10] {
			gt = append(gt, int32(id))
		}
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"base.fvecs":  AppendFvecs(nil, base, d),
		"query.fvecs": AppendFvecs(nil, q, d),
		"gt.ivecs":    AppendIvecs(nil, gt, 10),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBenchANNJSON(t *testing.T) {
	dir := writeDataset(t, 500, 20, 8)
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"ann", "--dataset", dir, "--index", "HNSW", "--metric", "L2",
		"--build", "M=8,efConstruction=40", "--search", "ef=10,64", "--k", "10", "--queries", "15", "--threads", "2", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"dataset", "n", "d", "nq", "index", "params", "recall10", "qps_1t", "qps_batch", "build_s", "rss_growth_mb"} {
			if _, ok := rec[f]; !ok {
				t.Errorf("line %d lacks %q", i, f)
			}
		}
		if rec["dataset"] != "tiny" || rec["n"].(float64) != 500 || rec["nq"].(float64) != 15 {
			t.Errorf("line %d: %v", i, rec)
		}
		if i == 1 && rec["recall10"].(float64) < 0.9 {
			t.Errorf("ef=64 recall %v", rec["recall10"])
		}
		if rec["params"] != []string{"M=8,efConstruction=40,ef=10", "M=8,efConstruction=40,ef=64"}[i] {
			t.Errorf("params %v", rec["params"])
		}
	}
}

func TestBenchANNTableAndErrors(t *testing.T) {
	dir := writeDataset(t, 200, 5, 4)
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"ann", "--dataset", dir, "--index", "FLAT"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "recall@10") || !strings.Contains(out.String(), "1.0000") {
		t.Errorf("table output:\n%s", out.String())
	}
	for _, args := range [][]string{
		{"ann", "--dataset", dir, "--build", "M"},
		{"ann", "--dataset", dir, "--search", "ef="},
		{"ann", "--dataset", dir, "--k", "5"},
		{"ann", "--dataset", filepath.Join(dir, "missing")},
		{"ann", "--dataset", dir, "--index", "NOPE"},
	} {
		cmd := NewCommand()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(args)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// A swept value may carry fixed companions ("8+reorder_k=40"): they reach
// the index (a reorder_k below k is refused) and the row's label.
func TestBenchANNCompanionParams(t *testing.T) {
	dir := writeDataset(t, 400, 10, 8)
	run := func(search string) (string, error) {
		cmd := NewCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs([]string{"ann", "--dataset", dir, "--index", "SCANN", "--metric", "L2",
			"--build", "nlist=8", "--search", search, "--queries", "10", "--json"})
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("nprobe=2+reorder_k=40,8+reorder_k=80")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"params":"nlist=8,nprobe=2,reorder_k=40"`, `"params":"nlist=8,nprobe=8,reorder_k=80"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if _, err := run("nprobe=2+reorder_k=5"); err == nil || !strings.Contains(err.Error(), "reorder_k(5) should be larger than k(10)") {
		t.Errorf("reorder_k 5: %v", err)
	}
}
