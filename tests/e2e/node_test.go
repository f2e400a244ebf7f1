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

// TestNodeSDK drives the server with the official Milvus Node SDK
// (tests/node/smoke.js): quick-setup create with index and load, insert
// with a dynamic field, search, query, delete, count, drop. .ci/run
// installs the SDK (npm ci in tests/node); without Node.js or the
// installed SDK the test is skipped.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir, _ := filepath.Abs("../node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@zilliz", "milvus2-sdk-node")); err != nil {
		t.Skip("Node SDK not installed: run npm ci in tests/node")
	}
	srv := startServer(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "smoke.js", srv.addr)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "NODE SDK OK") {
		t.Fatalf("node smoke test failed: %v\n%s", err, out)
	}
}
