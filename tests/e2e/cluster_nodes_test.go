//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What tests read of a cluster's processes as an operator of a Milvus
// deployment would: the query nodes' /metrics, the roles' log files; and
// the changes they make to it: one more query node, the proxies restarted
// with other settings. Each change is undone when the test ends, since
// the cluster is shared.

// queryNodeURLs are the base URLs of the HTTP servers (/metrics) of every
// query node process.
func (cl *e2eCluster) queryNodeURLs() []string {
	var out []string
	for _, name := range cl.c.Named("querynode") {
		out = append(out, cl.c.MetricsURL(name))
	}
	return out
}

// roleLogScan is the lines of the roles' log files written since it was
// made whose message (msg) match accepts.
type roleLogScan struct {
	cl      *e2eCluster
	match   func(string) bool
	offsets map[string]int64 // by role name: the size of its log file when the scan began
}

// scanLogs begins a scan of every role's log file for the lines match
// accepts (roleLogScan.lines reads them). The roles log at
// MILVAGO_E2E_CLUSTER_LOG (default warn): a level above warn would hide
// what the scan looks for, and fails t.
func (cl *e2eCluster) scanLogs(t *testing.T, match func(string) bool) lineSource {
	t.Helper()
	switch level := strings.ToLower(cmpOr(os.Getenv("MILVAGO_E2E_CLUSTER_LOG"), "warn")); level {
	case "debug", "info", "warn", "warning":
	default:
		t.Fatalf("the cluster's roles log at %s (MILVAGO_E2E_CLUSTER_LOG): the test reads their warnings", level)
	}
	s := &roleLogScan{cl: cl, match: match, offsets: map[string]int64{}}
	for _, name := range cl.c.Order {
		if fi, err := os.Stat(cl.c.Roles[name].LogPath()); err == nil {
			s.offsets[name] = fi.Size()
		}
	}
	return s
}

func (s *roleLogScan) lines() []string {
	var out []string
	for _, name := range s.cl.c.Order {
		f, err := os.Open(s.cl.c.Roles[name].LogPath())
		if err != nil {
			out = append(out, fmt.Sprintf("%s: read its log: %v", name, err))
			continue
		}
		if _, err := f.Seek(s.offsets[name], io.SeekStart); err != nil {
			out = append(out, fmt.Sprintf("%s: read its log: %v", name, err))
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			if s.match(logMessage(sc.Text())) {
				out = append(out, name+": "+sc.Text())
			}
		}
		if err := sc.Err(); err != nil {
			out = append(out, fmt.Sprintf("%s: read its log: %v", name, err))
		}
		f.Close()
	}
	return out
}

// addQueryNode starts one more query node in the cluster for the rest of
// t; it is stopped and removed when t ends.
func (cl *e2eCluster) addQueryNode(t *testing.T) {
	t.Helper()
	name := fmt.Sprintf("querynode-%d", len(cl.c.Named("querynode"))+1)
	r := cl.c.Add(t, name+":querynode")
	t.Cleanup(func() { cl.c.Remove(name) })
	r.WaitReady(t, 90*time.Second)
}

// restartProxies restarts every proxy with extra flags after their own
// (the other roles keep running, their data loaded); when t ends they
// restart with their own flags alone.
func (cl *e2eCluster) restartProxies(t *testing.T, extra []string) {
	t.Helper()
	proxies := cl.c.Named("proxy")
	first := true
	for _, p := range proxies {
		first = first && len(cl.c.Roles[p].Extra) == 0
	}
	cl.c.RestartRoles(t, extra, proxies...)
	if first {
		t.Cleanup(func() {
			if err := cl.tb.Run(func(tb testing.TB) { cl.c.RestartRoles(tb, nil, proxies...) }); err != nil {
				t.Errorf("restart the e2e cluster's proxies with their own flags: %v", err)
				dropCluster(cl) // later tests start one of their own
			}
		})
	}
}

// logMessage is the message (msg) of a line of a role's log, as
// log/slog's text handler writes it (log.format text, the harness's);
// "" for a line without one.
func logMessage(line string) string {
	_, rest, ok := strings.Cut(line, " msg=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return ""
		}
		msg, _ := strconv.Unquote(q)
		return msg
	}
	msg, _, _ := strings.Cut(rest, " ")
	return msg
}
