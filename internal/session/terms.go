package session

import (
	"sync"

	"github.com/milvago/milvago/internal/errs"
)

// Terms is a worker's side of command fencing: the newest leadership token
// (Leadership.Token, the election key's etcd revision, which grows with
// every hand-over) each coordinator role has commanded it with. A command
// carrying an older token comes from a coordinator that lost its election
// and has not noticed yet (paused, cut off): the worker refuses it, so the
// deposed coordinator cannot undo what its successor assigned. It is safe
// for concurrent use; the zero value is ready.
type Terms struct {
	mu     sync.Mutex
	newest map[string]int64
}

// Admit accepts a command of role at term, remembering term when it is
// the newest, or refuses it with errs.ErrNodeNotMatch when role has
// already commanded with a newer term.
func (t *Terms) Admit(role string, term int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.newest == nil {
		t.newest = map[string]int64{}
	}
	if n := t.newest[role]; term < n {
		return errs.StaleCoordinator(role, term, n)
	}
	t.newest[role] = term
	return nil
}

// Newest returns the newest term role has commanded with (0: none yet).
func (t *Terms) Newest(role string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.newest[role]
}
