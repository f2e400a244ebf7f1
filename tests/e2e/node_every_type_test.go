package e2e

import (
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
	nodeSDK(t)
	data := t.TempDir()
	run := func(srv *server, mode string) {
		t.Helper()
		out := runNodeScript(t, 3*time.Minute, "NODE EVERY TYPE OK", "every_type.js", srv.addr, mode)
		t.Logf("%s: %s", mode, strings.TrimSpace(out))
	}
	srv := startServer(t, data)
	run(srv, "write")
	srv.stop()
	srv = startServer(t, data)
	run(srv, "read")
}
