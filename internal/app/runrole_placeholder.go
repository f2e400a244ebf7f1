package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/milvago/milvago/internal/config"
)

// RunRole runs one cluster role until ctx ends.
//
// Placeholder so that the config branch compiles on its own: the cluster
// branch implements RunRole in cluster.go, and this file is deleted when
// the two are merged.
func RunRole(ctx context.Context, role string, cfg *config.Config, logger *slog.Logger) error {
	return fmt.Errorf("cluster role %q is not available in this build", role)
}
