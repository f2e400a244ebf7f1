package quota

import (
	"context"
	"fmt"
	"time"
)

// Run samples memory and disk every CollectInterval until ctx ends and
// refuses writes while a water level or the disk quota is passed. Without a
// probe, or with protection off, it returns at once.
func (l *Limiter) Run(ctx context.Context) {
	if l == nil || !l.cfg.Enabled || l.cfg.Probe == nil || (!l.cfg.MemProtection && !l.cfg.DiskProtection) {
		return
	}
	every := l.cfg.CollectInterval
	if every <= 0 {
		every = 3 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		l.Sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample measures once and sets whether writes are refused.
func (l *Limiter) Sample() {
	if l == nil || l.cfg.Probe == nil {
		return
	}
	reason := l.check()
	prev := l.denyWrites.Load()
	switch {
	case reason == "" && prev != nil:
		l.denyWrites.Store(nil)
		l.logger.Warn("writes admitted again")
	case reason != "":
		if prev == nil || *prev != reason {
			l.logger.Warn("refusing inserts and upserts", "reason", reason)
		}
		l.denyWrites.Store(&reason)
	}
}

// check returns why writes must be refused now, or "".
func (l *Limiter) check() string {
	p := l.cfg.Probe
	if l.cfg.MemProtection && l.cfg.MemoryHighWaterLevel > 0 {
		used, total, err := p.Memory()
		if err != nil {
			l.logger.Debug("cannot measure memory", "err", err)
		} else if total > 0 {
			if frac := float64(used) / float64(total); frac > l.cfg.MemoryHighWaterLevel {
				return fmt.Sprintf("%s: memory in use %.1f%% (%d of %d MB) is above the high water level %.0f%%",
					memoryQuotaMsg, frac*100, used/mb, total/mb, l.cfg.MemoryHighWaterLevel*100)
			}
		}
	}
	if !l.cfg.DiskProtection {
		return ""
	}
	if l.cfg.DiskHighWaterLevel > 0 {
		used, total, err := p.Disk()
		if err != nil {
			l.logger.Debug("cannot measure the data disk", "err", err)
		} else if total > 0 {
			if frac := float64(used) / float64(total); frac > l.cfg.DiskHighWaterLevel {
				return fmt.Sprintf("%s: the data directory's disk is %.1f%% full (%d of %d MB), above the high water level %.0f%%",
					diskQuotaMsg, frac*100, used/mb, total/mb, l.cfg.DiskHighWaterLevel*100)
			}
		}
	}
	if l.cfg.DiskQuotaBytes > 0 {
		n, err := p.DataBytes()
		if err != nil {
			l.logger.Debug("cannot measure the data directory", "err", err)
		} else if n > l.cfg.DiskQuotaBytes {
			return fmt.Sprintf("%s: the data directory holds %d MB, above diskQuota %d MB", diskQuotaMsg, n/mb, l.cfg.DiskQuotaBytes/mb)
		}
	}
	return ""
}
