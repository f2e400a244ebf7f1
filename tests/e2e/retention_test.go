package e2e

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
)

// TestDropDeletesIndexFiles drops an indexed collection and checks that
// its files, index files included, leave the object store.
func TestDropDeletesIndexFiles(t *testing.T) {
	srv := startServer(t, "")
	cli := srv.client(t)
	ctx := testContext(t)
	const name, dim, n = "dropped", 8, 500
	collID := createFlushed(t, ctx, cli, name, dim, n)
	// Only this collection's files: on a cluster the object store is
	// shared with the earlier tests'.
	earlier := indexBuildDirs(t, srv.objectsDir())
	indexAndLoad(t, ctx, cli, name, "v", index.NewHNSWIndex(entity.L2, 8, 32))
	builds := newBuildDirs(t, srv.objectsDir(), earlier)
	files := func(prefix string) int {
		var dirs []string
		if prefix == "index_files" {
			for b := range builds {
				dirs = append(dirs, filepath.Join(srv.objectsDir(), prefix, b))
			}
		} else {
			dirs = append(dirs, filepath.Join(srv.objectsDir(), prefix, strconv.FormatInt(collID, 10)))
		}
		n := 0
		for _, dir := range dirs {
			filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
				}
				return nil
			})
		}
		return n
	}
	eventually(t, 20*time.Second, "index files", func() (bool, string) {
		builds = newBuildDirs(t, srv.objectsDir(), earlier)
		return files("index_files") > 0, "none yet"
	})
	if err := cli.DropCollection(ctx, milvusclient.NewDropCollectionOption(name)); err != nil {
		t.Fatalf("drop: %v", err)
	}
	for _, prefix := range []string{"index_files", "insert_log", "stats_log", "delta_log"} {
		if got := files(prefix); got != 0 {
			t.Errorf("%d files left under %s after the drop", got, prefix)
		}
	}
}
