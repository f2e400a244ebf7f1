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

// TestNodeEveryTypeFixture: the every-type fixture (TestEveryTypeFixture's
// schema with a struct array, a nullable and a default field, and the
// dynamic field) inserted with the Node SDK's row-based insert and its
// default encodings (tests/node/every_type.js), every value read back by
// query and each vector field searched, before and after a restart.
func TestNodeEveryTypeFixture(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir, _ := filepath.Abs("../node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@zilliz", "milvus2-sdk-node")); err != nil {
		t.Skip("Node SDK not installed: run npm ci in tests/node")
	}
	data := t.TempDir()
	run := func(srv *server, mode string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "every_type.js", srv.addr, mode)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "NODE EVERY TYPE OK") {
			t.Fatalf("every_type.js %s: %v\n%s", mode, err, out)
		}
		t.Logf("%s: %s", mode, strings.TrimSpace(string(out)))
	}
	srv := startServer(t, data)
	run(srv, "write")
	srv.stop()
	srv = startServer(t, data)
	run(srv, "read")
}
