//go:build linux

package cluster

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/milvago/milvago/internal/testsupport/clusterproc"
)

// builtBinary is cmd/milvago built once for every test of the package
// (unless MILVAGO_BIN names one).
var builtBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if os.Getenv("MILVAGO_BIN") == "" && !testing.Short() {
		dir, err := os.MkdirTemp("", "milvago-cluster-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if builtBinary, err = clusterproc.Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}
