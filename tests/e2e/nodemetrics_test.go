package e2e

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/querynode"
)

// lineSource is where a test collects the lines a server logged: the
// in-process server's slog handler, or the cluster's log files.
type lineSource interface{ lines() []string }

// queryNodeURLs are the base URLs of the HTTP servers (/metrics) of the
// processes that run a query node: the standalone server's, or every
// query node of the cluster.
func (s *server) queryNodeURLs() []string {
	if s.cl != nil {
		return s.cl.queryNodeURLs()
	}
	return []string{s.httpURL}
}

// pruneCounts sums querynode.PruneSegmentsMetric of the prune type kind
// ("scalar" or "vector") over the /metrics of every query node of srv:
// the segments pruned and kept since the processes started.
func pruneCounts(t *testing.T, srv *server, kind string) (pruned, kept int64) {
	t.Helper()
	for _, url := range srv.queryNodeURLs() {
		pruned += int64(scrapeCounter(t, url, querynode.PruneSegmentsMetric, querynode.PruneTypeLabel, kind, querynode.PruneResultLabel, "pruned"))
		kept += int64(scrapeCounter(t, url, querynode.PruneSegmentsMetric, querynode.PruneTypeLabel, kind, querynode.PruneResultLabel, "kept"))
	}
	return pruned, kept
}

// scrapeCounter reads url's /metrics (Prometheus's text format) and
// returns the sum of the samples of metric whose labels include every
// name, value pair of labels. It fails t if the metric is absent.
func scrapeCounter(t *testing.T, url, metric string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", url, resp.Status)
	}
	var want []string
	for i := 0; i+1 < len(labels); i += 2 {
		want = append(want, labels[i]+"="+strconv.Quote(labels[i+1]))
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, metric)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		var set string
		if strings.HasPrefix(rest, "{") {
			end := strings.Index(rest, "}")
			if end < 0 {
				t.Fatalf("scrape %s: malformed sample %q", url, line)
			}
			set, rest = rest[1:end], rest[end+1:]
		}
		have := strings.Split(set, ",")
		match := true
		for _, w := range want {
			if !slices.Contains(have, w) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("scrape %s: sample %q: %v", url, line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	if !found {
		t.Fatalf("scrape %s: no sample of %s%v", url, metric, want)
	}
	return sum
}
