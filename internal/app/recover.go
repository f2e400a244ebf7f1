package app

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"github.com/milvago/milvago/internal/config"
	"github.com/milvago/milvago/internal/datacoord"
	"github.com/milvago/milvago/internal/identity"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/logbroker"
	"github.com/milvago/milvago/internal/objstore"
	"github.com/milvago/milvago/internal/session"
	"github.com/milvago/milvago/internal/streaming"
)

// RecoverTarget names the deployment `milvago recover` works on: a
// standalone data directory, or a cluster's configuration.
type RecoverTarget struct {
	DataDir string         // standalone: its --data-dir
	Cluster *config.Config // cluster: the roles' configuration (when DataDir is "")
}

// Recovery actions.
const (
	RecoverStatus  = "status"
	RecoverMeta    = "meta"
	RecoverLog     = "log"
	RecoverObjects = "objects"
)

// recoveryStores are a deployment's three stores, opened by recovery.
type recoveryStores struct {
	meta    kv.Store
	objects objstore.Store
	log     logbroker.Log
	st      identity.Stores
	closers []func() error
}

func (r *recoveryStores) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// openForRecovery opens the three stores. A standalone's embedded stores
// are locked: this fails while the server runs. A cluster's stores are
// shared: it refuses while any role has a live session.
func openForRecovery(ctx context.Context, t RecoverTarget, logger *slog.Logger) (*recoveryStores, error) {
	r := &recoveryStores{}
	if t.DataDir != "" {
		etcd, err := kv.StartEmbedded(ctx, kv.EmbedConfig{Dir: filepath.Join(t.DataDir, "etcd")}, logger)
		if err != nil {
			return nil, fmt.Errorf("recover: open the meta store (is the server still running?): %w", err)
		}
		r.closers = append(r.closers, etcd.Close)
		broker, err := logbroker.StartEmbedded(ctx, logbroker.EmbedConfig{Dir: filepath.Join(t.DataDir, "log")}, logger)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("recover: open the log: %w", err)
		}
		r.closers = append(r.closers, broker.Close)
		objects, err := objstore.NewLocal(filepath.Join(t.DataDir, "objects"))
		if err != nil {
			r.close()
			return nil, fmt.Errorf("recover: open the object store: %w", err)
		}
		r.closers = append(r.closers, objects.Close)
		r.meta, r.log, r.objects = etcd.Client(), broker.Log(), objects
		m, l, o := standaloneStores(t.DataDir)
		r.st = identity.Stores{Meta: r.meta, MetaName: m, Log: r.log, LogName: l, Objects: r.objects, ObjectsName: o,
			Hint: recoverHint("--data-dir " + t.DataDir)}
		return r, nil
	}
	if t.Cluster == nil {
		return nil, errors.New("recover: give --data-dir (standalone) or --config (cluster)")
	}
	meta, objects, lg, err := openClusterStores(ctx, t.Cluster, true, true, logger)
	if meta != nil {
		r.closers = append(r.closers, meta.Close)
	}
	if objects != nil {
		r.closers = append(r.closers, objects.Close)
	}
	if lg != nil {
		r.closers = append(r.closers, lg.Close)
	}
	if err != nil {
		r.close()
		return nil, fmt.Errorf("recover: %w", err)
	}
	r.meta, r.objects, r.log = meta, objects, lg
	m, l, o := clusterStores(t.Cluster)
	r.st = identity.Stores{Meta: meta, MetaName: m, Log: lg, LogName: l, Objects: objects, ObjectsName: o, Hint: recoverHint("--config FILE")}
	return r, nil
}

// liveSessions lists the roles registered in the meta store.
func liveSessions(ctx context.Context, meta kv.Store) ([]string, error) {
	kvs, err := meta.List(ctx, "session/")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range kvs {
		if k := strings.TrimPrefix(e.Key, "session/"); k != "id" {
			out = append(out, k)
		}
	}
	return out, nil
}

// Recover runs one recovery action on a stopped deployment and writes what
// it found and did to w. Every action but status changes the stores and
// needs yes (the operator's confirmation).
func Recover(ctx context.Context, t RecoverTarget, action string, yes bool, w io.Writer, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	switch action {
	case RecoverStatus, RecoverMeta, RecoverLog, RecoverObjects:
	default:
		return fmt.Errorf("recover: unknown action %q: want status, meta, log or objects", action)
	}
	r, err := openForRecovery(ctx, t, logger)
	if err != nil {
		return err
	}
	defer r.close()
	if t.DataDir == "" {
		live, err := liveSessions(ctx, r.meta)
		if err != nil {
			return fmt.Errorf("recover: list sessions: %w", err)
		}
		if len(live) > 0 && action != RecoverStatus {
			return fmt.Errorf("recover: the cluster is running (live sessions: %s): stop every role first", strings.Join(live, ", "))
		}
	}
	if err := printStatus(ctx, r, w); err != nil {
		return err
	}
	if action == RecoverStatus {
		return nil
	}
	if !yes {
		return fmt.Errorf("recover %s changes the stores and loses data (see above and `milvago recover --help`): run it again with --yes to confirm", action)
	}
	switch action {
	case RecoverMeta:
		return adoptMeta(ctx, r, w)
	case RecoverLog:
		return adoptLog(ctx, r, w)
	default:
		return adoptObjects(ctx, r, w)
	}
}

func describe(s identity.State) string {
	if !s.Present {
		return "no cluster identity"
	}
	return "cluster " + s.Identity.ClusterID + " (created " + s.Identity.CreatedAt.Format("2006-01-02 15:04:05 UTC") + ")"
}

func printStatus(ctx context.Context, r *recoveryStores, w io.Writer) error {
	rec, ok, objects, lg, _, err := identity.Read(ctx, r.st)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	meta := identity.State{Present: ok, Identity: rec.Identity}
	fmt.Fprintf(w, "%s: %s\n", r.st.MetaName, describe(meta))
	if ok {
		var stamped []string
		for s, v := range rec.Stamped {
			if v {
				stamped = append(stamped, s)
			}
		}
		sort.Strings(stamped)
		fmt.Fprintf(w, "  stamped stores: %s\n", strings.Join(stamped, ", "))
	}
	fmt.Fprintf(w, "%s: %s\n", r.st.ObjectsName, describe(objects))
	fmt.Fprintf(w, "%s: %s\n", r.st.LogName, describe(lg))
	if err := identity.Verify(ctx, r.st); err != nil {
		fmt.Fprintf(w, "\nA start would refuse: %v\n", err)
	} else {
		fmt.Fprintln(w, "\nA start would go ahead.")
	}
	return nil
}

// adoptMeta stamps an empty (wiped or new) meta store with the identity
// of the object store and the log. The meta store's contents are lost;
// the high-water mark makes new IDs and timestamps start above all the old
// ones, so the old collections' log messages and files are never read as
// a new collection's.
func adoptMeta(ctx context.Context, r *recoveryStores, w io.Writer) error {
	_, ok, objects, lg, _, err := identity.Read(ctx, r.st)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if ok {
		return fmt.Errorf("recover meta: %s already has a cluster identity: nothing to adopt (see `recover status`)", r.st.MetaName)
	}
	if objects.Present && lg.Present && objects.Identity.ClusterID != lg.Identity.ClusterID {
		return fmt.Errorf("recover meta: %s (cluster %s) and %s (cluster %s) belong to different clusters: fix that first",
			r.st.ObjectsName, objects.Identity.ClusterID, r.st.LogName, lg.Identity.ClusterID)
	}
	id := objects.Identity
	if !objects.Present {
		id = lg.Identity
	}
	if !objects.Present && !lg.Present {
		return fmt.Errorf("recover meta: no store has a cluster identity: a plain start stamps them")
	}
	rec := identity.Record{Identity: id, Stamped: map[string]bool{identity.StoreObjects: objects.Present, identity.StoreLog: lg.Present}}
	wm, err := identity.LoadWatermark(ctx, r.meta, r.objects, nil)
	if err != nil {
		return fmt.Errorf("recover meta: %w", err)
	}
	if err := identity.WriteMeta(ctx, r.meta, rec); err != nil {
		return fmt.Errorf("recover meta: %w", err)
	}
	// Server IDs too: taking one moves the session counter above the mark,
	// for the roles that register without the object store (proxies).
	if _, err := session.AllocIDMarked(ctx, r.meta, wm); err != nil {
		return fmt.Errorf("recover meta: %w", err)
	}
	fmt.Fprintf(w, "\nAdopted %s into cluster %s.\n", r.st.MetaName, id.ClusterID)
	fmt.Fprintf(w, "IDs resume at or above %d, server IDs above %d and timestamps above %d ms (the object store's high-water mark), so no ID is reused.\n",
		wm.Floor(identity.CounterID), wm.Floor(identity.CounterSession), wm.Floor(identity.CounterTSO))
	fmt.Fprintln(w, "Lost, not rebuilt: every database, collection, schema, partition, alias, index definition, user, role and load state,")
	fmt.Fprintln(w, "which only the meta store held. The old collections' files stay in the object store and their messages in the log,")
	fmt.Fprintln(w, "unread: the log is truncated by retention once no collection maps to them; the files can be deleted by hand.")
	return nil
}

// adoptLog adopts a new log (the old one was lost, or replaced by an empty
// or foreign one): every physical channel the collections use is
// truncated to its end, every checkpoint moves there, and segments that
// were not flushed are dropped (their rows were only in the lost log).
func adoptLog(ctx context.Context, r *recoveryStores, w io.Writer) error {
	rec, ok, _, lg, _, err := identity.Read(ctx, r.st)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if !ok {
		return fmt.Errorf("recover log: %s has no cluster identity: recover the meta store first", r.st.MetaName)
	}
	if lg.Present && lg.Identity.ClusterID == rec.ClusterID {
		return fmt.Errorf("recover log: %s already belongs to cluster %s: nothing to adopt", r.st.LogName, rec.ClusterID)
	}
	latest := map[string]uint64{}
	position := func(vchannel string) (uint64, error) {
		p := streaming.PChannelOf(vchannel)
		if v, ok := latest[p]; ok {
			return v, nil
		}
		id, err := r.log.Latest(ctx, p)
		if err != nil && !errors.Is(err, logbroker.ErrNoSuchChannel) {
			return 0, fmt.Errorf("recover log: end of %s: %w", p, err)
		}
		// Whatever the adopted log holds there is not this cluster's.
		if id > 0 {
			if err := r.log.Truncate(ctx, p, id); err != nil {
				return 0, fmt.Errorf("recover log: truncate %s: %w", p, err)
			}
		}
		latest[p] = uint64(id)
		return uint64(id), nil
	}
	adopted, err := datacoord.AdoptLog(ctx, r.meta, position)
	if err != nil {
		return err
	}
	if err := identity.RestampLog(ctx, r.log, rec.Identity); err != nil {
		return fmt.Errorf("recover log: stamp: %w", err)
	}
	rec.Stamped[identity.StoreLog] = true
	if err := identity.WriteMeta(ctx, r.meta, rec); err != nil {
		return fmt.Errorf("recover log: %w", err)
	}
	fmt.Fprintf(w, "\nAdopted %s into cluster %s.\n", r.st.LogName, rec.ClusterID)
	fmt.Fprintf(w, "Kept: every flushed segment, its indexes and the flushed deletes (object store), and all metadata.\n")
	fmt.Fprintf(w, "Moved %d channel checkpoints to the new log's end.\n", len(adopted.Checkpoints))
	fmt.Fprintf(w, "Lost, not rebuilt: rows and deletes written after the last flush, which only the old log held.\n")
	if len(adopted.Dropped) == 0 {
		fmt.Fprintln(w, "No segment was unflushed.")
	}
	for _, s := range adopted.Dropped {
		fmt.Fprintf(w, "  dropped unflushed segment %d (collection %d, channel %s, state %s)\n", s.ID, s.CollectionID, s.VChannel, s.State)
	}
	return nil
}

// adoptObjects stamps a new (empty or foreign) object store and moves the
// high-water mark into it. Flushed segments and indexes whose files were
// in the lost store cannot be rebuilt: their loads fail and say so.
func adoptObjects(ctx context.Context, r *recoveryStores, w io.Writer) error {
	rec, ok, objects, _, _, err := identity.Read(ctx, r.st)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if !ok {
		return fmt.Errorf("recover objects: %s has no cluster identity: recover the meta store first", r.st.MetaName)
	}
	if objects.Present && objects.Identity.ClusterID == rec.ClusterID {
		return fmt.Errorf("recover objects: %s already belongs to cluster %s: nothing to adopt", r.st.ObjectsName, rec.ClusterID)
	}
	// The mark: the meta store's own counters, which are current.
	wm, err := identity.LoadWatermark(ctx, r.meta, r.objects, nil)
	if err != nil {
		return fmt.Errorf("recover objects: %w", err)
	}
	for counter, key := range map[string]string{identity.CounterID: "root/id", identity.CounterTSO: "root/tso"} {
		kvp, err := r.meta.Get(ctx, key)
		if errors.Is(err, kv.ErrNotFound) {
			continue
		}
		if err != nil || len(kvp.Value) != 8 {
			return fmt.Errorf("recover objects: read %s: %v", key, err)
		}
		if err := wm.Raise(ctx, counter, binary.BigEndian.Uint64(kvp.Value)); err != nil {
			return fmt.Errorf("recover objects: %w", err)
		}
	}
	if err := identity.StampObjects(ctx, r.objects, rec.Identity); err != nil {
		return fmt.Errorf("recover objects: stamp: %w", err)
	}
	rec.Stamped[identity.StoreObjects] = true
	if err := identity.WriteMeta(ctx, r.meta, rec); err != nil {
		return fmt.Errorf("recover objects: %w", err)
	}
	fmt.Fprintf(w, "\nAdopted %s into cluster %s, with the meta store's ID and timestamp marks.\n", r.st.ObjectsName, rec.ClusterID)
	fmt.Fprintln(w, "Lost, not rebuilt: the files of every flushed segment, delete log and index that were in the old store.")
	fmt.Fprintln(w, "Loading a collection with such a segment fails and GetLoadState says which file is missing; drop and re-insert it.")
	return nil
}
