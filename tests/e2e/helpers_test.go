package e2e

import "github.com/milvus-io/milvus/client/v2/column"

func columnDouble(name string, v []float64) column.Column { return column.NewColumnDouble(name, v) }
