// Package failpoint holds a process at named points of its code for a
// while: a fault-injection aid for tests of the whole system, as etcd's
// gofail and Milvus's failpoints. A test that stops a process (SIGSTOP)
// cannot choose where it stops, nor delay one request in the network; a
// failpoint makes a step of the process wait at a chosen point, e.g. a
// coordinator holding a node's report as if it was delayed in flight,
// while the test stops the node and its work moves elsewhere
// (docs/log-fencing.md, "Failpoints").
//
// Failpoints are armed only by the MILVAGO_FAILPOINTS environment
// variable of the process; unset (production), Hit costs one nil check.
// Its value is a list of name=action, separated by ';':
//
//	MILVAGO_FAILPOINTS='rpc.serve/milvago.internal.DataCoord/SaveSyncManifest=1*sleep(20s)'
//
// An action is sleep(D) (a Go duration) or error(TEXT), optionally limited
// to the first N hits (N*sleep(D), N*error(TEXT)). The sleep ignores
// contexts: it stands for a process that is not running, which notices
// nothing either. error(TEXT) makes the step fail with TEXT (ErrInjected)
// at the points that can fail (Fail); where a point only holds (Hit), it
// does nothing.
//
// The failpoints a process has:
//
//   - rpc.serve/<gRPC full method> (internal/app's fence): a call the
//     process serves, held after the fence admitted it and before its
//     handler runs, as if the request had been delayed in flight; its end
//     is logged as "failpoint call served", with the handler's error. The
//     data coordinator's reports of a data node are
//     rpc.serve/milvago.internal.DataCoord/<SaveSyncManifest,
//     SegmentFlushed (a flush's binlogs), AddDeltaLog, UpdateCheckpoint>;
//     a query node's framed search is
//     rpc.serve/milvago.internal.QueryNode/Search.
//   - proxy.search.requery (internal/proxy): a search that requeries its
//     hits' fields, held after its shards answered and before the
//     requery is sent, as a slow second phase while segments are sealed.
//   - app.openStores (internal/app): a standalone, or a cluster role,
//     held before it opens its stores (meta store, log, object store), as
//     a start with a large meta store or log to replay; the API of a
//     standalone and of a cluster proxy already answers "service not
//     ready" (code 1) meanwhile, and so does any other role's gRPC port
//     (its /healthz 503).
//   - datanode.flush.deltaLog, datanode.flush.binlog (internal/datanode):
//     the data node's write of a delete log, or of a flushed segment's
//     binlog, to the object store (Fail), e.g.
//     datanode.flush.deltaLog=error(disk full) for a flush that fails.
package failpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvVar is the environment variable that arms failpoints.
const EnvVar = "MILVAGO_FAILPOINTS"

// Set is the failpoints armed in a process. A nil *Set has none.
type Set struct {
	logger *slog.Logger
	mu     sync.Mutex
	points map[string]*point
}

type point struct {
	sleep time.Duration
	err   string // error(TEXT): the step fails with TEXT (sleep is 0)
	left  int    // hits still to act on; < 0: every hit
}

// ErrInjected is the error of a step an error(TEXT) failpoint failed.
var ErrInjected = errors.New("failpoint")

// Parse returns the failpoints spec arms (nil for an empty spec). A nil
// logger discards; every hit is logged at Warn ("failpoint hit").
func Parse(spec string, logger *slog.Logger) (*Set, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Set{logger: logger, points: map[string]*point{}}
	for _, term := range strings.Split(spec, ";") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		name, action, ok := strings.Cut(term, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("failpoint: %q: want name=action", term)
		}
		p, err := parseAction(action)
		if err != nil {
			return nil, fmt.Errorf("failpoint %s: %w", name, err)
		}
		s.points[name] = p
	}
	return s, nil
}

// parseAction parses [N*]sleep(D) and [N*]error(TEXT).
func parseAction(action string) (*point, error) {
	p := &point{left: -1}
	if n, rest, ok := strings.Cut(action, "*"); ok {
		count, err := strconv.Atoi(n)
		if err != nil || count < 1 {
			return nil, fmt.Errorf("count %q: want a positive integer", n)
		}
		p.left, action = count, rest
	}
	if text, ok := strings.CutPrefix(action, "error("); ok && strings.HasSuffix(text, ")") {
		if p.err = strings.TrimSuffix(text, ")"); p.err == "" {
			return nil, fmt.Errorf("action %q: want error(TEXT) with some text", action)
		}
		return p, nil
	}
	arg, ok := strings.CutPrefix(action, "sleep(")
	if !ok || !strings.HasSuffix(arg, ")") {
		return nil, fmt.Errorf("action %q: want sleep(DURATION) or error(TEXT)", action)
	}
	d, err := time.ParseDuration(strings.TrimSuffix(arg, ")"))
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("action %q: want a positive Go duration", action)
	}
	p.sleep = d
	return p, nil
}

// Names lists the armed failpoints.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.points))
	for name := range s.points {
		out = append(out, name)
	}
	return out
}

// Hit runs failpoint name's action if it is armed: it logs the hit (with
// args, slog's key-value pairs) and sleeps, and reports whether it did.
// ctx only carries the caller's log context; it does not cut the sleep
// short.
func (s *Set) Hit(ctx context.Context, name string, args ...any) bool {
	hit, _ := s.act(ctx, name, false, args)
	return hit
}

// Fail runs failpoint name's action at a step that can fail: it sleeps as
// Hit does (and returns nil), or for error(TEXT) returns an error that
// wraps ErrInjected with TEXT. Unarmed, or past its N hits, it returns nil.
func (s *Set) Fail(ctx context.Context, name string, args ...any) error {
	_, err := s.act(ctx, name, true, args)
	return err
}

// act runs name's action; canFail: the caller takes an injected error
// (an error point is not hit by Hit).
func (s *Set) act(ctx context.Context, name string, canFail bool, args []any) (bool, error) {
	if s == nil {
		return false, nil
	}
	s.mu.Lock()
	p, ok := s.points[name]
	if !ok || p.left == 0 || (p.err != "" && !canFail) {
		s.mu.Unlock()
		return false, nil
	}
	if p.left > 0 {
		p.left--
	}
	d, text := p.sleep, p.err
	s.mu.Unlock()
	args = append([]any{"failpoint", name}, args...)
	if text != "" {
		s.logger.WarnContext(ctx, "failpoint hit", append(args, "error", text)...)
		return true, fmt.Errorf("%w %s: %s", ErrInjected, name, text)
	}
	s.logger.WarnContext(ctx, "failpoint hit", append(args, "sleep", d)...)
	time.Sleep(d)
	s.logger.WarnContext(ctx, "failpoint done", args...)
	return true, nil
}

// Served logs how the step a hit of failpoint name held ended (err nil:
// it succeeded), with args as Hit's: what a test that held a call waits
// for, e.g. a report refused once its sender lost the channel.
func (s *Set) Served(ctx context.Context, name string, err error, args ...any) {
	if s == nil {
		return
	}
	args = append([]any{"failpoint", name}, args...)
	if err != nil {
		args = append(args, "err", err)
	}
	s.logger.WarnContext(ctx, "failpoint call served", args...)
}
