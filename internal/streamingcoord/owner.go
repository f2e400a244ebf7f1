package streamingcoord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/kv"
	"github.com/milvago/milvago/internal/session"
)

// Session is the streaming node's own session.
type Session interface {
	ID() int64
	// Fresh is nil while the process may act for its session.
	Fresh() error
}

// Releaser stops writing a pchannel: when Release returns, the writer's
// last append has returned and no other will start until the pchannel is
// taken again (the writer consults Check under the channel's lock).
type Releaser interface {
	Release(ctx context.Context, pchannel string)
}

// OwnershipDeps are a streaming node's collaborators.
type OwnershipDeps struct {
	KV    kv.Store
	Table *Table
	// Session returns the node's session, nil until it is registered (no
	// assignment names the node before).
	Session func() Session
	Writer  Releaser
	Logger  *slog.Logger
}

// Ownership is a streaming node's side of the assignment: which pchannels
// it may write now, under which term. Run follows the table; the writer
// calls Check before every append.
type Ownership struct {
	kv     kv.Store
	table  *Table
	sess   func() Session
	writer Releaser
	logger *slog.Logger

	mu      sync.Mutex
	held    map[string]int64     // pchannel → term it is written under
	waiting map[string]time.Time // pchannel → when this node first saw it assigned and waited
}

// NewOwnership returns the node's ownership; Run keeps it current.
func NewOwnership(d OwnershipDeps) *Ownership {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Ownership{kv: d.KV, table: d.Table, sess: d.Session, writer: d.Writer,
		logger: d.Logger.With("component", "streamingcoord.owner"), held: map[string]int64{}, waiting: map[string]time.Time{}}
}

// Check returns the term under which this node writes pchannel, or a
// "channel misrouted" error (507) naming its writer.
func (o *Ownership) Check(pchannel string) (int64, error) {
	s := o.sess()
	if s == nil {
		return 0, errs.ChannelMisrouted(pchannel, 0, o.owner(pchannel))
	}
	if err := s.Fresh(); err != nil {
		return 0, errs.NodeOffline(s.ID(), "its session expired: "+err.Error())
	}
	o.mu.Lock()
	term, ok := o.held[pchannel]
	o.mu.Unlock()
	if !ok {
		return 0, errs.ChannelMisrouted(pchannel, s.ID(), o.owner(pchannel))
	}
	return term, nil
}

func (o *Ownership) owner(pchannel string) int64 {
	a, _ := o.table.Owner(pchannel)
	return a.Node
}

// Held returns the pchannels this node writes, with their terms.
func (o *Ownership) Held() map[string]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int64, len(o.held))
	for pc, t := range o.held {
		out[pc] = t
	}
	return out
}

// recheck is how often a waiting take-over looks again at the previous
// writer's session.
const recheck = 200 * time.Millisecond

// Run follows the assignments until ctx ends: it releases the pchannels
// assigned elsewhere and takes those assigned here once their previous
// writer has stopped.
func (o *Ownership) Run(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-o.table.Loaded():
	}
	for {
		changed := o.table.Changed()
		// Only a take-over waiting for the old writer's session, or a
		// node not registered yet, looks again without a change: an idle
		// node sleeps.
		var again <-chan time.Time
		if o.reconcile(ctx) {
			again = time.After(recheck)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-again:
		}
	}
}

// reconcile releases and takes pchannels as the table says; it reports
// whether it must look again although nothing changed.
func (o *Ownership) reconcile(ctx context.Context) (again bool) {
	s := o.sess()
	if s == nil {
		return true
	}
	self := s.ID()
	assign, rel := o.table.snapshot()
	// Release first: the node stops writing what moved away.
	for pc, term := range o.Held() {
		a := assign[pc]
		if a.Node == self {
			if a.Term != term {
				o.mu.Lock()
				o.held[pc] = a.Term
				o.mu.Unlock()
			}
			continue
		}
		o.mu.Lock()
		delete(o.held, pc)
		o.mu.Unlock()
		o.writer.Release(ctx, pc)
		o.logger.Info("pchannel released", "pchannel", pc, "term", term, "to", a.Node, "new_term", a.Term)
	}
	// Acknowledge every hand-over away from this node (also those it
	// never started), so the next writer need not wait for the session.
	for pc, a := range assign {
		if a.From == self && a.Node != self && rel[pc] < a.Term {
			b, _ := json.Marshal(released{Term: a.Term})
			if _, err := o.kv.Put(ctx, PrefixReleased+pc, b); err != nil {
				o.logger.Warn("record pchannel release", "pchannel", pc, "err", err)
				again = true
			}
		}
	}
	// Take what is assigned here once the previous writer stopped.
	var live map[int64]bool
	for pc, a := range assign {
		if a.Node != self {
			o.mu.Lock()
			delete(o.waiting, pc)
			o.mu.Unlock()
			continue
		}
		o.mu.Lock()
		_, held := o.held[pc]
		o.mu.Unlock()
		if held {
			continue
		}
		ready := a.From == 0 || a.From == self || rel[pc] >= a.Term
		why := "released"
		if !ready {
			if live == nil {
				var err error
				if live, err = liveNodes(ctx, o.kv); err != nil {
					o.logger.Warn("list streaming node sessions", "err", err)
					return true
				}
			}
			ready, why = !live[a.From], "previous writer's session ended"
		}
		o.mu.Lock()
		since, waited := o.waiting[pc]
		if !waited {
			since = time.Now()
			o.waiting[pc] = since
		}
		if ready {
			o.held[pc] = a.Term
			delete(o.waiting, pc)
		} else {
			again = true
		}
		o.mu.Unlock()
		if ready {
			o.logger.Info("pchannel taken", "pchannel", pc, "term", a.Term, "from", a.From, "because", why,
				"waited", time.Since(since).Round(time.Millisecond))
		}
	}
	return again
}

func liveNodes(ctx context.Context, store kv.Store) (map[int64]bool, error) {
	ms, _, err := session.List(ctx, store, session.RoleStreamingNode)
	if err != nil {
		return nil, fmt.Errorf("streamingcoord: %w", err)
	}
	out := map[int64]bool{}
	for _, m := range ms {
		out[m.ServerID] = true
	}
	return out, nil
}

// ReleaseFunc is a Releaser made of a function.
type ReleaseFunc func(ctx context.Context, pchannel string)

// Release calls f.
func (f ReleaseFunc) Release(ctx context.Context, pchannel string) { f(ctx, pchannel) }
