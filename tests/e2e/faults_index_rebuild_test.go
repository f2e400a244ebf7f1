package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"

	"github.com/milvago/milvago/internal/storage"
)

// indexBuildDirs lists the build directories under index_files/ of the
// objects directory (server.objectsDir).
func indexBuildDirs(t *testing.T, objects string) map[string]bool {
	t.Helper()
	root := filepath.Join(objects, "index_files")
	out := map[string]bool{}
	must(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil // none yet, or removed meanwhile by the garbage collection
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			out[filepath.Dir(rel)] = true
		}
		return nil
	}))
	return out
}

// newBuildDirs is indexBuildDirs without the builds in earlier: on a
// cluster the tests share an object store, whose earlier builds (of
// dropped collections) the garbage collection removes only later.
func newBuildDirs(t *testing.T, objects string, earlier map[string]bool) map[string]bool {
	t.Helper()
	out := indexBuildDirs(t, objects)
	for b := range earlier {
		delete(out, b)
	}
	return out
}

// An index file of a loaded collection that is corrupt (a byte flipped)
// or missing is found at load after a restart, reported to the index
// coordinator, and rebuilt from the segment's binlogs under a new build:
// meanwhile searches are answered by exact search, afterwards the new
// file (which passes its checksum) is loaded, and search results stay
// right throughout.
func TestFaultsIndexFileRebuilt(t *testing.T) {
	for _, damage := range []string{"corrupt", "missing"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			srv := startServer(t, dir)
			cli := srv.client(t)
			ctx := testContext(t)
			storesCollection(t, ctx, cli, "rebuild", 0, 500)
			flush(t, ctx, cli, "rebuild")
			objects := srv.objectsDir()
			earlier := indexBuildDirs(t, objects)
			indexAndLoad(t, ctx, cli, "rebuild", "vec", index.NewHNSWIndex(entity.L2, 8, 64))
			rs, err := cli.Query(ctx, milvusclient.NewQueryOption("rebuild").WithFilter("id == 7").WithOutputFields("vec").WithConsistencyLevel(entity.ClStrong))
			must(t, err)
			v, err := rs.GetColumn("vec").Get(0)
			must(t, err)
			vec := v.(entity.FloatVector)
			srv.stop()
			before := newBuildDirs(t, objects, earlier)
			if len(before) != 1 {
				t.Fatalf("index builds before: %v", before)
			}
			var file string
			if damage == "corrupt" {
				for b := range before {
					file = flipByte(t, filepath.Join(objects, "index_files", b), "")
				}
			} else {
				for b := range before {
					entries, err := os.ReadDir(filepath.Join(objects, "index_files", b))
					must(t, err)
					file = filepath.Join(objects, "index_files", b, entries[0].Name())
				}
				must(t, os.Remove(file))
			}
			t.Logf("%s: %s", damage, file)

			srv = startServer(t, dir)
			cli = srv.client(t)
			search := func() {
				t.Helper()
				res, err := cli.Search(ctx, milvusclient.NewSearchOption("rebuild", 3, []entity.Vector{vec}).
					WithANNSField("vec").WithConsistencyLevel(entity.ClStrong))
				must(t, err)
				if len(res) != 1 || res[0].ResultCount != 3 {
					t.Fatalf("search: %+v", res)
				}
				if id, _ := res[0].IDs.GetAsInt64(0); id != 7 {
					t.Fatalf("nearest to row 7's vector is %d, want 7", id)
				}
			}
			load(t, ctx, cli, "rebuild")
			search()
			var rebuilt string
			eventually(t, 60*time.Second, "the index rebuilt under a new build", func() (bool, string) {
				for b := range newBuildDirs(t, objects, earlier) {
					if !before[b] {
						rebuilt = b
						return true, ""
					}
				}
				return false, "no new build directory"
			})
			entries, err := os.ReadDir(filepath.Join(objects, "index_files", rebuilt))
			must(t, err)
			data, err := os.ReadFile(filepath.Join(objects, "index_files", rebuilt, entries[0].Name()))
			must(t, err)
			if _, _, err := storage.OpenIndexFile(data); err != nil {
				t.Fatalf("rebuilt index file: %v", err)
			}
			eventually(t, 30*time.Second, "DescribeIndex reports the index finished", func() (bool, string) {
				idx, err := cli.DescribeIndex(ctx, milvusclient.NewDescribeIndexOption("rebuild", "vec"))
				if err != nil {
					return false, err.Error()
				}
				st := commonpb.IndexState(idx.State)
				return st == commonpb.IndexState_Finished && idx.IndexedRows == 500 && idx.PendingIndexRows == 0,
					fmt.Sprintf("state %v, %d rows indexed, %d pending", st, idx.IndexedRows, idx.PendingIndexRows)
			})
			search()
			if n := storesCount(t, ctx, cli, "rebuild"); n != 500 {
				t.Fatalf("count %d, want 500", n)
			}
			// The rebuilt index serves after another restart, with nothing
			// reported any more.
			srv.stop()
			srv = startServer(t, dir)
			cli = srv.client(t)
			load(t, ctx, cli, "rebuild")
			search()
			if after := newBuildDirs(t, objects, earlier); len(after) > 2 {
				t.Fatalf("index builds after a clean restart: %v (rebuilt again?)", after)
			}
		})
	}
}
