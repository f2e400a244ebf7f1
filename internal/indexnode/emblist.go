package indexnode

import (
	"context"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/index"
)

// buildEmbList builds the index of an embedding list column (a struct
// array's vector sub-field): an element-level index of spec's type with
// the element metric of its MAX_SIM metric, over every row's vectors.
func buildEmbList(ctx context.Context, spec index.Spec, lists *column.Scalar[*schemapb.VectorField]) (index.Index, index.Dataset, error) {
	element := index.EmbListIndexElement(spec.Metric)
	if element == "" {
		return nil, index.Dataset{}, fmt.Errorf("embedding list index needs a MAX_SIM or element metric, not %q", spec.Metric)
	}
	if lists.ElementType != schemapb.DataType_FloatVector {
		return nil, index.Dataset{}, fmt.Errorf("embedding lists of %s cannot be indexed", lists.ElementType)
	}
	data := index.Dataset{Dim: spec.Dim}
	lens := make([]int, len(lists.Data))
	for i, row := range lists.Data {
		v := row.GetFloatVector().GetData()
		if spec.Dim <= 0 || len(v)%spec.Dim != 0 {
			return nil, index.Dataset{}, fmt.Errorf("row %d: %d values are not vectors of dim %d", i, len(v), spec.Dim)
		}
		lens[i] = len(v) / spec.Dim
		data.Float = append(data.Float, v...)
	}
	idx, err := index.BuildEmbList(ctx, spec, element, lens, data)
	if err != nil {
		return nil, index.Dataset{}, err
	}
	return idx, data, nil
}
