package errs

import "fmt"

// Replica, resource group and node errors (pkg/util/merr: 300-401, 901-905).
var (
	ErrResourceGroupNotFound           = def(300, "resource group not found", false)
	ErrResourceGroupAlreadyExist       = def(301, "resource group already exist, but create with different config", false)
	ErrResourceGroupReachLimit         = def(302, "resource group num reach limit", false)
	ErrResourceGroupIllegalConfig      = def(303, "resource group illegal config", false)
	ErrResourceGroupNodeNotEnough      = def(304, "resource group node not enough", false)
	ErrResourceGroupServiceUnAvailable = def(305, "resource group service unavailable", true)
	ErrChannelNotAvailable             = def(503, "channel not available", false)
	ErrReplicaNotFound                 = def(400, "replica not found", false)
	ErrReplicaNotAvailable             = def(401, "replica not available", false)
	ErrNodeNotFound                    = def(901, "node not found", false)
	ErrNodeOffline                     = def(902, "node offline", false)
	ErrNodeNotAvailable                = def(905, "node not available", false)
)

// ResourceGroupNodeNotEnough is merr.WrapErrResourceGroupNodeNotEnough:
// "resource group node not enough[rg=<rg>][currentNodeNum=<n>][expectedNodeNum=<m>]".
func ResourceGroupNodeNotEnough(rg string, current, expected int) error {
	return &detailed{base: ErrResourceGroupNodeNotEnough, detail: fmt.Sprintf("[rg=%s][currentNodeNum=%d][expectedNodeNum=%d]", rg, current, expected)}
}

// ReplicaNotAvailable is merr.WrapErrReplicaNotAvailable for a replica.
func ReplicaNotAvailable(replica int64, reason ...string) error {
	return with(ErrReplicaNotAvailable, "replica", replica, reason)
}

// NodeNotFound is merr.WrapErrNodeNotFound for a node.
func NodeNotFound(node int64, reason ...string) error {
	return with(ErrNodeNotFound, "node", node, reason)
}

// NodeOffline is merr.WrapErrNodeOffline for a node.
func NodeOffline(node int64, reason ...string) error {
	return with(ErrNodeOffline, "node", node, reason)
}

// ChannelNotAvailable is merr.WrapErrChannelNotAvailable for a shard.
func ChannelNotAvailable(channel string, reason ...string) error {
	return with(ErrChannelNotAvailable, "channel", channel, reason)
}

// ResourceGroupNotFound is merr.WrapErrResourceGroupNotFound.
func ResourceGroupNotFound(rg string) error { return with(ErrResourceGroupNotFound, "rg", rg, nil) }

// ResourceGroupAlreadyExist is merr.WrapErrResourceGroupAlreadyExist.
func ResourceGroupAlreadyExist(rg string) error {
	return with(ErrResourceGroupAlreadyExist, "rg", rg, nil)
}

// ResourceGroupReachLimit is merr.WrapErrResourceGroupReachLimit.
func ResourceGroupReachLimit(rg string, limit int) error {
	return &detailed{base: ErrResourceGroupReachLimit, detail: fmt.Sprintf("[rg=%s][limit=%d]", rg, limit)}
}

// ResourceGroupIllegalConfig is merr.WrapErrResourceGroupIllegalConfig:
// "<reason>: resource group illegal config[rg=<rg>][config=<cfg>]".
func ResourceGroupIllegalConfig(rg string, cfg any, reason string) error {
	return fmt.Errorf("%s: %w", reason, &detailed{base: ErrResourceGroupIllegalConfig, detail: fmt.Sprintf("[rg=%s][config=%v]", rg, cfg)})
}

// CollectionNotFullyLoaded is merr.WrapErrCollectionNotFullyLoaded.
func CollectionNotFullyLoaded(collection any, reason ...string) error {
	return with(ErrCollectionNotFullyLoaded, "collection", collection, reason)
}

// SegmentNotFound is merr.WrapErrSegmentNotFound.
func SegmentNotFound(segment int64, reason ...string) error {
	return with(ErrSegmentNotFound, "segment", segment, reason)
}
