package kv

import (
	"context"
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// defaultQuotaBytes is etcd's quota-backend-bytes when none is set.
const defaultQuotaBytes = 2 << 30

// spaceHeadroom: the NOSPACE alarm is disarmed once the backend's used
// size is at most this fraction of the quota, so that it is not raised
// again by the next few writes.
const spaceHeadroom = 0.8

// nearQuota: with no alarm raised, the watcher steps in (compacts, and
// defragments if the live data fits under the headroom) only once the
// backend file passes this fraction of the quota, since a defragmentation
// holds every request for its duration.
const nearQuota = 0.95

// watchSpace clears etcd's NOSPACE alarm by itself. etcd raises it when
// its backend passes the quota, then refuses every write, and the alarm
// stays (it is persisted) until an operator compacts, defragments and
// disarms: a meta store that filled up once would refuse writes for good,
// even after the keys were deleted. While the alarm is raised, every
// SpaceCheck the watcher compacts the history older than the retention
// (as the auto-compactor would, which does not run without new
// revisions) and, once the used size is back under the headroom,
// defragments to give the freed pages back and disarms the alarm.
func (m *Embedded) watchSpace(ctx context.Context, cfg EmbedConfig) {
	every := cfg.SpaceCheck
	if every <= 0 {
		every = 5 * time.Second
	}
	quota := cfg.QuotaBackendBytes
	if quota <= 0 {
		quota = defaultQuotaBytes
	}
	m.spaceWG.Go(func() {
		cli := v3client.New(m.etcd.Server)
		defer cli.Close()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// Reading the alarm list and the backend's size is cheap;
			// a quiet store goes no further.
			alarm := m.noSpace()
			if alarm || float64(m.etcd.Server.Backend().Size()) > nearQuota*float64(quota) {
				m.reclaim(ctx, cli, quota, int64(cfg.CompactionRetention), alarm)
			}
		}
	})
}

// noSpace reports whether the NOSPACE alarm is raised.
func (m *Embedded) noSpace() bool {
	for _, a := range m.etcd.Server.Alarms() {
		if a.Alarm == pb.AlarmType_NOSPACE {
			return true
		}
	}
	return false
}

// reclaim compacts and defragments the backend, and disarms NOSPACE once
// the used size fits under the headroom. It acts when the alarm is raised
// and also when the backend file alone is over the headroom: etcd refuses
// writes whose cost would pass the quota by the file's size even when the
// alarm it then tries to raise did not get through (its proposal shares
// the refused request's context), and nothing but a defragmentation
// shrinks that file; so it also acts when the file is nearly at the quota.
func (m *Embedded) reclaim(ctx context.Context, cli *clientv3.Client, quota, retention int64, alarm bool) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	st, err := cli.Status(ctx, m.endpoint)
	if err != nil {
		if alarm {
			m.logger.Warn("meta store out of space: status", "err", err)
		}
		return
	}
	if rev := st.Header.GetRevision() - retention; rev > 0 {
		if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			m.logger.Warn("meta store out of space: compact", "revision", rev, "err", err)
		}
	}
	// The pages the compaction freed are only counted free once a later
	// write transaction commits, and no write comes while writes are
	// refused: commit one.
	m.etcd.Server.Backend().ForceCommit()
	if st, err = cli.Status(ctx, m.endpoint); err != nil {
		m.logger.Warn("meta store out of space: status", "err", err)
		return
	}
	if float64(st.DbSizeInUse) > spaceHeadroom*float64(quota) {
		if alarm {
			m.logger.Warn("meta store out of space: writes stay refused until keys are deleted",
				"in_use_bytes", st.DbSizeInUse, "quota_bytes", quota)
		}
		return
	}
	// The quota is checked against the backend file's size: give the
	// freed pages back first. The server's own Defragment: the in-process
	// client's maintenance adapter lacks the health notifier its
	// Defragment needs.
	if err := m.etcd.Server.Defragment(); err != nil {
		m.logger.Warn("meta store out of space: defragment", "err", err)
		return
	}
	if !alarm {
		m.logger.Info("meta store backend defragmented under its quota", "in_use_bytes", st.DbSizeInUse, "quota_bytes", quota)
		return
	}
	_, err = cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: uint64(m.etcd.Server.MemberID()), Alarm: pb.AlarmType_NOSPACE})
	if err != nil {
		m.logger.Warn("meta store: disarm NOSPACE", "err", err)
		return
	}
	m.logger.Warn("meta store has space again: NOSPACE alarm disarmed, writes accepted",
		"in_use_bytes", st.DbSizeInUse, "quota_bytes", quota)
}
