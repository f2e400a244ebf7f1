package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milvus-io/milvus/client/v2/entity"
	"github.com/milvus-io/milvus/client/v2/index"
	"github.com/milvus-io/milvus/client/v2/milvusclient"
	"github.com/milvus-io/milvus/pkg/v2/util/merr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/milvago/milvago/internal/app"
)

// etcdApplied is the embedded etcd's applied index, from the metric it
// registers in this process.
func etcdApplied(t *testing.T) uint64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "etcd_server_proposals_applied_total" && len(mf.GetMetric()) == 1 {
			return uint64(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	t.Fatal("no etcd_server_proposals_applied_total metric")
	return 0
}

// etcdSnaps lists the embedded etcd's disk snapshot files (term-index)
// and returns the highest index.
func etcdSnaps(t *testing.T, dataDir string) ([]string, uint64) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dataDir, "etcd", "member", "snap", "*.snap"))
	must(t, err)
	var newest uint64
	for i, n := range names {
		names[i] = strings.TrimSuffix(filepath.Base(n), ".snap")
		if _, idx, ok := strings.Cut(names[i], "-"); ok {
			if v, err := strconv.ParseUint(idx, 16, 64); err == nil {
				newest = max(newest, v)
			}
		}
	}
	return names, newest
}

// keepFull fills dir's disk and keeps it full (another process that
// takes whatever room is freed, the guard's reserve too) until the
// returned func stops it and removes its file.
func keepFull(t *testing.T, dir string) func() {
	t.Helper()
	path := filepath.Join(dir, "hostile")
	f, err := os.Create(path)
	must(t, err)
	stop, done, filled := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256<<10)
		full := false
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
				if !full {
					full = true
					close(filled)
				}
				time.Sleep(time.Millisecond)
			} else if err != nil {
				t.Errorf("filler: %v", err)
				return
			}
		}
	}()
	select {
	case <-filled:
	case <-time.After(30 * time.Second):
		t.Fatal("the disk did not fill in 30 s")
	}
	return func() {
		close(stop)
		<-done
		f.Close()
		must(t, os.Remove(path))
	}
}

// Standalone's embedded etcd writes a disk snapshot every
// milvago.etcd.snapshotCount entries (100 here) and used to exit when its
// disk was full then. The disk fills, another process keeping it full,
// while etcd's next snapshot is a few entries away: the timestamp
// oracle's window writes (which pass the full-disk guard, so reads go on)
// stop short of it, so requests needing a timestamp are refused with
// Milvus's disk quota error instead, no snapshot is written, the server
// stays up, and everything resumes once the disk has room: every
// acknowledged row is there and etcd snapshots again.
func TestStoresFullDiskEtcdSnapshotDue(t *testing.T) {
	standaloneOnly(t, "fills the disk of the server's embedded etcd")
	mnt := filepath.Join(t.TempDir(), "mnt")
	mountTmpfs(t, mnt, "384m")
	data := filepath.Join(mnt, "data")
	const snapCount = 100 // the guard's margin is a quarter: 25
	start := time.Now()
	srv := startServerWith(t, data, func(c *app.StandaloneConfig) { c.EtcdSnapshotCount = snapCount })
	cli := srv.client(t)
	ctx := testContext(t)
	const name = "snap_full"
	storesCollection(t, ctx, cli, name, 0, 500)
	indexAndLoad(t, ctx, cli, name, "vec", index.NewFlatIndex(entity.L2))

	// Meta writes (alias DDL) until etcd's next snapshot is within the
	// guard's margin but not yet due, then fill the disk at once. The
	// server's own writes may bring a snapshot meanwhile: then again.
	t.Logf("%v: server up, collection loaded", time.Since(start).Round(time.Millisecond))
	aliasOp := 0
	metaWrite := func() {
		a := fmt.Sprintf("a%d", aliasOp/2)
		if aliasOp%2 == 0 {
			must(t, cli.CreateAlias(ctx, milvusclient.NewCreateAliasOption(name, a)))
		} else {
			must(t, cli.DropAlias(ctx, milvusclient.NewDropAliasOption(a)))
		}
		aliasOp++
	}
	var snaps []string
	var stopFiller func()
	for attempt := 0; stopFiller == nil; attempt++ {
		if attempt == 5 {
			t.Fatal("could not fill the disk with etcd's next snapshot near in 5 attempts")
		}
		for {
			_, snap := etcdSnaps(t, data)
			if d := etcdApplied(t) - snap; d >= snapCount-20 && d <= snapCount-8 {
				break
			}
			metaWrite()
		}
		stop := keepFull(t, mnt)
		var snap uint64
		snaps, snap = etcdSnaps(t, data)
		if d := etcdApplied(t) - snap; d+25 > snapCount && d <= snapCount {
			stopFiller = stop
			t.Logf("%v: disk full with etcd %d entries past its last snapshot (snapshot count %d)", time.Since(start).Round(time.Millisecond), d, snapCount)
			break
		}
		stop() // the server's own writes moved etcd on meanwhile
		time.Sleep(time.Second)
	}
	filled := true
	defer func() {
		if filled {
			stopFiller()
		}
	}()

	// Within one window of the oracle (3 s) timestamps are refused.
	var err error
	eventually(t, 20*time.Second, "timestamped requests refused", func() (bool, string) {
		_, err = cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		return merr.Code(err) == 9, errText(err)
	})
	wantCode(t, err, 9, "disk quota exceeded", "snapshot is due")
	t.Logf("%v: query on the full disk, etcd's snapshot near: %v", time.Since(start).Round(time.Millisecond), err)
	_, err = cli.Insert(ctx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{9999}).
		WithFloatVectorColumn("vec", 8, [][]float32{make([]float32, 8)}))
	wantCode(t, err, 9, "disk quota exceeded")
	if got, _ := etcdSnaps(t, data); !slices.Equal(got, snaps) {
		t.Fatalf("etcd snapshot files changed on the full disk: %v, were %v", got, snaps)
	}

	stopFiller()
	filled = false
	eventually(t, 30*time.Second, "queries answer once the disk has room", func() (bool, string) {
		_, err := cli.Query(ctx, milvusclient.NewQueryOption(name).WithOutputFields("count(*)").WithConsistencyLevel(entity.ClStrong))
		return err == nil, errText(err)
	})
	eventually(t, 30*time.Second, "inserts accepted again", func() (bool, string) {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := cli.Insert(ictx, milvusclient.NewColumnBasedInsertOption(name).WithInt64Column("id", []int64{9999}).
			WithFloatVectorColumn("vec", 8, [][]float32{make([]float32, 8)}))
		return err == nil, errText(err)
	})
	t.Logf("%v: inserts resumed", time.Since(start).Round(time.Millisecond))
	eventually(t, 30*time.Second, "every acknowledged row counted", func() (bool, string) {
		n := storesCount(t, ctx, cli, name)
		return n == 501, fmt.Sprintf("%d rows, want 501", n)
	})
	eventually(t, 30*time.Second, "etcd snapshots again", func() (bool, string) {
		got, _ := etcdSnaps(t, data)
		if !slices.Equal(got, snaps) {
			return true, ""
		}
		metaWrite()
		return false, fmt.Sprint(got)
	})
}
