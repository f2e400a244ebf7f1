package datacoord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/milvago/milvago/internal/kv"
)

// errCommitUnknown marks a commit whose meta write failed in a way that
// leaves unknown whether it applied, and whose read-back failed too: its
// output files may be a live segment's (they stay until a restart
// reloads the meta and settles it).
var errCommitUnknown = errors.New("the commit's outcome is unknown")

// commitReadBack bounds the read that settles a commit the store answered
// with an error.
const commitReadBack = 10 * time.Second

// commitOps writes a commit's ops in one transaction. The store may apply a
// transaction and still answer with an error (the answer lost to a
// cancelled context at a stop, a timeout, a cut connection), so on an
// error it reads the last put back: the commit applied when it holds the
// value written. It returns nil when the commit applied, an error wrapping
// errCommitUnknown when it cannot tell, else the store's error (the commit
// did not apply, and the caller may take its output for garbage).
func (s *Server) commitOps(ctx context.Context, ops []kv.Op) error {
	_, err := s.kv.Txn(ctx, nil, ops)
	if err == nil {
		return nil
	}
	var probe *kv.Op
	for i := range ops {
		if !ops[i].Delete {
			probe = &ops[i]
		}
	}
	if probe == nil {
		return fmt.Errorf("%w: %w", errCommitUnknown, err)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitReadBack)
	defer cancel()
	got, gerr := s.kv.Get(rctx, probe.Key)
	switch {
	case gerr == nil && bytes.Equal(got.Value, probe.Value):
		s.logger.Warn("the meta store answered a commit with an error, but it applied", "key", probe.Key, "err", err)
		return nil
	case gerr == nil || errors.Is(gerr, kv.ErrNotFound):
		return err
	default:
		return fmt.Errorf("%w: %w (reading it back: %v)", errCommitUnknown, err, gerr)
	}
}
