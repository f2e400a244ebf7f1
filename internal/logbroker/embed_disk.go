package logbroker

import (
	"io/fs"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/sys/unix"
)

// diskCheck is how often the embedded server's store limit follows the
// disk.
const diskCheck = 2 * time.Second

// refusedCheck is the least time between two checks that refused appends
// ask for (storeFault.Refused): the disk is checked at once on a refusal,
// then at most this often while refusals go on. A healthy log makes no
// such check, so there is no wake-up beyond diskCheck's while idle.
const refusedCheck = 100 * time.Millisecond

// followDisk raises JetStream's store limit as space frees up on its disk.
// JetStream fixes its default limit at start, at 75% of the space free
// then (plus what it stores): once reached, appends fail with
// "insufficient resources" until a restart, even after space was freed.
// Every diskCheck the limit is raised to storeLimit's value now (never
// lowered: what the stream holds stays within it), so appends resume by
// themselves. It returns when stop closes.
//
// It also reopens the store after a write error (writeErr, set by the
// server's logger): see reopenAfterWriteError.
//
// A refused append (writeErr.Refused) makes it check at once, then at most
// every refusedCheck: without that, appends stayed refused for up to
// diskCheck after the space was back (a client retrying every 20 ms saw
// thousands more rows refused).
func followDisk(srv *server.Server, opts *server.Options, dir string, writeErr *storeFault, stop <-chan struct{}, logger diskLogger) {
	t := time.NewTicker(diskCheck)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-writeErr.refusals():
			if wait := refusedCheck - time.Since(last); wait > 0 {
				select {
				case <-stop:
					return
				case <-time.After(wait):
				}
			}
		}
		last = time.Now()
		v, err := srv.Varz(nil)
		if err != nil || v.JetStream.Config == nil || v.JetStream.Stats == nil {
			continue
		}
		if writeErr.Load() {
			reopenAfterWriteError(srv, *v.JetStream.Config, dir, int64(v.JetStream.Stats.Store), writeErr, logger)
			continue
		}
		limit := v.JetStream.Config.MaxStore
		want, ok := storeLimit(dir, int64(v.JetStream.Stats.Store))
		if !ok || want <= limit+limit/20 { // within 5%: not worth a reload
			continue
		}
		o := opts.Clone()
		o.JetStreamMaxStore = want
		if err := srv.ReloadOptions(o); err != nil {
			logger.Warn("raise the log's store limit", "err", err)
			continue
		}
		logger.Info("raised the log's store limit as disk space freed up", "from", limit, "to", want)
	}
}

type diskLogger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// reopenDrain bounds how long a reopen waits for the API requests under
// way to end before it shuts JetStream down (storeFault.BeginReopen).
// JetStream, still up then, answers them in milliseconds.
const reopenDrain = time.Second

// storeWriteError is in the message nats-server logs when a stream's
// store fails a write ("JetStream stream 'A > S' critical write error:
// ... no space left on device"; also "Filestore [S] Critical write
// error"). The server has no API that reports it.
const storeWriteError = "ritical write error"

// reopenAfterWriteError reopens JetStream once its disk has room again
// after a store write failed. A disk filled faster than diskCheck samples
// makes a write fail outright (ENOSPC) rather than reach the store limit;
// the stream and its file store then keep that error for good: every later
// append is dropped unanswered (the publisher waits for its ack until it
// gives up) until the stream is opened again. Shutting JetStream down and
// enabling it again, as a restart would, reopens every stream from its
// files (the failed message is not among them: it was never acknowledged).
// Clients stay connected; durable consumers are recovered with their
// streams, the readers' ephemeral ones are not (natsReader.next makes new
// ones). While it runs, appends and requests wait (storeFault.BeginReopen).
func reopenAfterWriteError(srv *server.Server, cfg server.JetStreamConfig, dir string, held int64, writeErr *storeFault, logger diskLogger) {
	want, ok := storeLimit(dir, held)
	if !ok || want <= held+1<<20 { // still no room beyond the headroom
		return
	}
	// Until Reopened (or ReopenFailed) appends are held back and API
	// requests wait rather than meet JetStream shut down or half open.
	writeErr.BeginReopen(reopenDrain)
	start := time.Now()
	if err := srv.ShutdownJetStream(); err != nil {
		logger.Warn("reopen the log after a write error: shut JetStream down", "err", err)
	}
	down := time.Since(start)
	cfg.StoreDir = dir // EnableJetStream adds its own "jetstream" directory
	cfg.MaxStore = max(cfg.MaxStore, want)
	if err := srv.EnableJetStream(&cfg); err != nil {
		writeErr.ReopenFailed() // tried again at the next check
		logger.Warn("reopen the log after a write error: enable JetStream", "err", err)
		return
	}
	writeErr.Reopened()
	logger.Warn("the log's disk has room again: JetStream reopened after a store write error, appends resume",
		"store_limit", cfg.MaxStore, "shutdown", down, "took", time.Since(start))
}

// storeLimit is the store limit for a store holding held bytes in dir:
// what it holds plus the space free on its disk, less a headroom of a
// tenth of the disk (at most 1 GiB) that the log never takes, so that the
// log reports "insufficient resources" before the file system fails a
// write (JetStream handles a failed write far worse: the stream stops).
func storeLimit(dir string, held int64) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	total := int64(st.Blocks) * int64(st.Bsize)
	free := int64(st.Bavail) * int64(st.Bsize)
	return max(held+free-min(total/10, 1<<30), 1<<20), true
}

// initialStoreLimit is storeLimit at start, set as JetStream's limit (a
// computed limit cannot change at run time; a set one can be raised).
func initialStoreLimit(dir string) int64 {
	var held int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				held += info.Size()
			}
		}
		return nil
	})
	limit, ok := storeLimit(dir, held)
	if !ok {
		return -1 // JetStream's own default
	}
	return limit
}
