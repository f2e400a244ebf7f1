package e2e

import (
	"context"
	"time"

	"github.com/milvus-io/milvus/client/v2/column"
)

func columnDouble(name string, v []float64) column.Column { return column.NewColumnDouble(name, v) }

func contextWithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}
