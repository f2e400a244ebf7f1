package errs

import "fmt"

// Fencing errors (pkg/util/merr 904, 507): a worker refusing a command meant
// for another node or sent by a deposed coordinator, and a coordinator
// refusing a report from a node that does not own the channel.
var (
	ErrNodeNotMatch     = def(904, "node not match", false)
	ErrChannelMisrouted = def(507, "channel misrouted: not owned by this node", true)
)

// NodeNotMatch is merr.WrapErrNodeNotMatch: a command addressed to server
// ID expected reached node actual (a new process behind an old address).
func NodeNotMatch(expected, actual int64) error {
	return &detailed{base: ErrNodeNotMatch, detail: fmt.Sprintf("[expectedNodeID=%d][actualNodeID=%d]", expected, actual)}
}

// StaleCoordinator is ErrNodeNotMatch for a command carrying an older
// leadership term of a coordinator role than the newest the node has
// obeyed: the sender lost its election. Rendered as merr's wrappers
// render a reason: "a newer <role> leads: node not match[role=...][term=...][newestTerm=...]".
func StaleCoordinator(role string, term, newest int64) error {
	return &detailed{
		base:   ErrNodeNotMatch,
		detail: fmt.Sprintf("[role=%s][term=%d][newestTerm=%d]", role, term, newest),
		reason: "a newer " + role + " leads",
	}
}

// ChannelMisrouted is ErrChannelMisrouted for a report about a channel
// the reporting node does not own (its ownership moved, or its session
// ended).
func ChannelMisrouted(channel string, node, owner int64) error {
	return &detailed{base: ErrChannelMisrouted, detail: fmt.Sprintf("[channel=%s][node=%d][owner=%d]", channel, node, owner)}
}
