//go:build linux

package cluster

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
		builtBinary = filepath.Join(dir, "milvago")
		cmd := exec.Command("go", "build", "-o", builtBinary, "github.com/milvago/milvago/cmd/milvago")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build milvago: %v\n%s", err, b)
			return 1
		}
	}
	return m.Run()
}
