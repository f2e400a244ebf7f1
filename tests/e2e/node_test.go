package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeSDK returns the node binary and tests/node, where .ci/run installs
// the official Milvus Node SDK (npm ci); it skips the test without either.
func nodeSDK(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir, _ = filepath.Abs("../node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@zilliz", "milvus2-sdk-node")); err != nil {
		t.Skip("Node SDK not installed: run npm ci in tests/node")
	}
	return node, dir
}

// runNodeScript runs script (a path, or a file of tests/node) with args in
// tests/node, the SDK on its module path, and fails the test unless it
// exits 0 printing ok.
func runNodeScript(t *testing.T, timeout time.Duration, ok, script string, args ...string) string {
	t.Helper()
	node, dir := nodeSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), ok) {
		t.Fatalf("node %s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNodeSDK drives the server with the official Milvus Node SDK
// (tests/node/smoke.js): quick-setup create with index and load, insert
// with a dynamic field, search, query, delete, count, drop. Skipped
// without Node.js or the installed SDK.
func TestNodeSDK(t *testing.T) {
	nodeSDK(t)
	srv := startServer(t, "")
	runNodeScript(t, 2*time.Minute, "NODE SDK OK", "smoke.js", srv.addr)
}
