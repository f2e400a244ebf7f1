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

// TestNodeSDKRegressions runs tests/node/sdk_regress.js: what the Node
// SDK's own suites found (the insert redone after SchemaMismatch, the
// partition-key errors' legacy codes, REST v2 search shapes through the
// SDK's HttpClient). Skipped without Node.js or the installed SDK, like
// TestNodeSDK.
func TestNodeSDKRegressions(t *testing.T) {
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
	cmd := exec.CommandContext(ctx, node, "sdk_regress.js", srv.addr)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "NODE SDK REGRESS OK") {
		t.Fatalf("node regression script failed: %v\n%s", err, out)
	}
}
