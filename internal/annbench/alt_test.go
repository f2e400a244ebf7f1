package annbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// runJSON runs `bench ann` with args and decodes its JSON lines.
func runJSON(t *testing.T, args ...string) ([]Record, error) {
	t.Helper()
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(append([]string{"ann", "--json"}, args...))
	if err := cmd.Execute(); err != nil {
		return nil, err
	}
	var recs []Record
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r Record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

func checkSpread(t *testing.T, r Record, samples, passes int) {
	t.Helper()
	if r.Samples != samples || r.Passes != passes || len(r.QPS1TSamples) != samples {
		t.Fatalf("samples %d passes %d (%d values), want %d and %d", r.Samples, r.Passes, len(r.QPS1TSamples), samples, passes)
	}
	if !(r.QPS1TMin > 0 && r.QPS1TMin <= r.QPS1T && r.QPS1T <= r.QPS1TMax) {
		t.Errorf("qps_1t %v not within min %v max %v", r.QPS1T, r.QPS1TMin, r.QPS1TMax)
	}
	if r.QPS1T != median(r.QPS1TSamples) {
		t.Errorf("qps_1t %v is not the median of %v", r.QPS1T, r.QPS1TSamples)
	}
	if r.CPUBusy == 0 || r.CPUBusy > 1 {
		t.Errorf("cpu_busy %v", r.CPUBusy)
	}
}

func TestBenchANNSamples(t *testing.T) {
	dir := writeDataset(t, 300, 12, 8)
	recs, err := runJSON(t, "--dataset", dir, "--index", "HNSW", "--build", "M=8,efConstruction=40",
		"--search", "ef=16,64", "--samples", "3", "--passes", "2")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		checkSpread(t, r, 3, 2)
		if r.RefIndex != "" || r.Ratio != 0 {
			t.Errorf("reference fields without a reference: %+v", r)
		}
	}
	for _, bad := range [][]string{{"--samples", "0"}, {"--passes", "-1"}} {
		if _, err := runJSON(t, append([]string{"--dataset", dir}, bad...)...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// fakeRef writes a shell script that speaks hnswlib_alt's protocol: a
// build line for n, d, nq, then one answer per search command.
func fakeRef(t *testing.T, n, d, nq int, answer string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	p := filepath.Join(t.TempDir(), "ref.sh")
	script := "#!/bin/sh\n" +
		`echo "$@" > "$(dirname "$0")/args"` + "\n" +
		`printf '{"n": ` + strconv.Itoa(n) + `, "d": ` + strconv.Itoa(d) + `, "nq": ` + strconv.Itoa(nq) + `, "build_s": 1.5, "build_cpu_s": 2.5, "rss_growth_mb": 3, "build_threads": 2}\n'` + "\n" +
		"while read cmd ef passes; do\n" +
		"  [ \"$cmd\" = quit ] && exit 0\n" +
		"  " + answer + "\n" +
		"done\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBenchANNReference(t *testing.T) {
	dir := writeDataset(t, 300, 12, 8)
	// 2 passes of 12 queries in 0.024 s: 1,000 QPS for the reference.
	ref := fakeRef(t, 300, 8, 12, `printf '{"cpu_s": 0.024, "wall_s": 0.048, "recall10": 0.5}\n'`)
	recs, err := runJSON(t, "--dataset", dir, "--index", "HNSW", "--build", "M=8,efConstruction=40",
		"--search", "ef=16,64", "--samples", "4", "--passes", "2", "--threads", "2", "--hnswlib", ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	args, _ := os.ReadFile(filepath.Join(filepath.Dir(ref), "args"))
	if got, want := strings.TrimSpace(string(args)), dir+" 12 2 8 40"; got != want {
		t.Errorf("reference started with %q, want %q", got, want)
	}
	for _, r := range recs {
		checkSpread(t, r, 4, 2)
		if r.RefIndex != "hnswlib-native" || r.RefRecall10 != 0.5 || r.RefBuildS != 1.5 || r.RefBuildCPUS != 2.5 || r.RefRSSGrowthMB != 3 {
			t.Errorf("reference fields %+v", r)
		}
		if r.RefQPS1T != 1000 || r.RefQPS1TMin != 1000 || r.RefQPS1TMax != 1000 || r.RefQPS1TWall != 500 || len(r.RefQPS1TSamples) != 4 {
			t.Errorf("reference qps %v (%v-%v) wall %v samples %v", r.RefQPS1T, r.RefQPS1TMin, r.RefQPS1TMax, r.RefQPS1TWall, r.RefQPS1TSamples)
		}
		if d := r.Ratio - r.QPS1T/1000; d > 1e-9 || d < -1e-9 {
			t.Errorf("ratio %v, qps_1t %v", r.Ratio, r.QPS1T)
		}
		// Every sample's reference QPS is 1000, so the paired ratios are
		// the Milvago samples over 1000.
		if d := r.RatioPaired - median(r.QPS1TSamples)/1000; d > 1e-9 || d < -1e-9 || r.RatioPairedMin > r.RatioPaired || r.RatioPaired > r.RatioPairedMax {
			t.Errorf("paired ratio %v (%v-%v), samples %v", r.RatioPaired, r.RatioPairedMin, r.RatioPairedMax, r.QPS1TSamples)
		}
	}
}

func TestBenchANNReferenceErrors(t *testing.T) {
	dir := writeDataset(t, 300, 12, 8)
	good := `printf '{"cpu_s": 0.01, "wall_s": 0.01, "recall10": 0.5}\n'`
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no M":         {[]string{"--build", "efConstruction=40", "--hnswlib", fakeRef(t, 300, 8, 12, good)}, "integer M"},
		"other param":  {[]string{"--build", "M=8,efConstruction=40", "--search", "nprobe=4", "--hnswlib", fakeRef(t, 300, 8, 12, good)}, "sweeps ef"},
		"other data":   {[]string{"--build", "M=8,efConstruction=40", "--hnswlib", fakeRef(t, 299, 8, 12, good)}, "n=299"},
		"dies":         {[]string{"--build", "M=8,efConstruction=40", "--hnswlib", fakeRef(t, 300, 8, 12, "exit 3")}, "read"},
		"error answer": {[]string{"--build", "M=8,efConstruction=40", "--hnswlib", fakeRef(t, 300, 8, 12, `printf '{"error": "unknown command"}\n'`)}, "unknown command"},
		"missing":      {[]string{"--build", "M=8,efConstruction=40", "--hnswlib", filepath.Join(t.TempDir(), "none")}, "start"},
		"garbled":      {[]string{"--build", "M=8,efConstruction=40", "--hnswlib", fakeRef(t, 300, 8, 12, "echo hello")}, "hello"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"--dataset", dir, "--index", "HNSW", "--search", "ef=16"}, tc.args...)
			_, err := runJSON(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
			if name != "missing" && !errors.Is(err, ErrReference) {
				t.Errorf("err %v is not ErrReference", err)
			}
		})
	}
}

// TestBenchANNHNSWLib compiles native/hnswlib_alt.cpp when g++ and
// hnswlib's headers are installed and measures it against Milvago.
func TestBenchANNHNSWLib(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles C++")
	}
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++")
	}
	if _, err := os.Stat("/usr/include/hnswlib/hnswlib.h"); err != nil {
		t.Skip("no hnswlib headers (apt-get install -y libhnswlib-dev)")
	}
	bin := filepath.Join(t.TempDir(), "hnswlib_alt")
	if out, err := exec.Command(gxx, "-O2", "-pthread", "-o", bin, "native/hnswlib_alt.cpp").CombinedOutput(); err != nil {
		t.Fatalf("g++: %v\n%s", err, out)
	}
	dir := writeDataset(t, 500, 20, 8)
	recs, err := runJSON(t, "--dataset", dir, "--index", "HNSW", "--build", "M=8,efConstruction=40",
		"--search", "ef=10,64", "--samples", "3", "--passes", "2", "--hnswlib", bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		checkSpread(t, r, 3, 2)
		if r.RefQPS1T <= 0 || r.RefQPS1TMin > r.RefQPS1T || r.RefQPS1T > r.RefQPS1TMax || r.Ratio <= 0 {
			t.Errorf("reference %+v", r)
		}
	}
	if recs[1].RefRecall10 < 0.9 || recs[1].Recall10 < 0.9 {
		t.Errorf("ef=64 recall: hnswlib %v, Milvago %v", recs[1].RefRecall10, recs[1].Recall10)
	}
}
