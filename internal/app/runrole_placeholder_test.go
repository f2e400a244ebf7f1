package app

import (
	"context"
	"strings"
	"testing"

	"github.com/milvago/milvago/internal/config"
)

// TestPlaceholderRunRole: until the cluster branch lands, RunRole says so.
// Deleted with runrole_placeholder.go.
func TestPlaceholderRunRole(t *testing.T) {
	err := RunRole(context.Background(), "querynode", config.Default(config.Cluster), nil)
	if err == nil || !strings.Contains(err.Error(), `cluster role "querynode" is not available in this build`) {
		t.Errorf("RunRole: %v", err)
	}
}
