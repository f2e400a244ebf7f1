package e2e

import (
	"testing"
	"time"
)

// TestNodeSDKRegressions runs tests/node/sdk_regress.js: what the Node
// SDK's own suites found (the insert redone after SchemaMismatch, the
// partition-key errors' legacy codes, REST v2 search shapes through the
// SDK's HttpClient). Skipped without Node.js or the installed SDK, like
// TestNodeSDK.
func TestNodeSDKRegressions(t *testing.T) {
	nodeSDK(t)
	srv := startServer(t, "")
	runNodeScript(t, 2*time.Minute, "NODE SDK REGRESS OK", "sdk_regress.js", srv.addr)
}
