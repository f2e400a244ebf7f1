package rest

import (
	"fmt"
	"reflect"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
)

// structArrayCells renders a struct array result column (ArrayOfStruct:
// one sub-column per struct sub-field) as n JSON cells, each the row's
// list of struct elements: [{"label": "a", "emb": [0.1, ...]}, ...].
func structArrayCells(fd *schemapb.FieldData, n int, allowInt64 bool) ([]any, error) {
	type sub struct {
		name string
		col  column.Column
		dim  int
	}
	var subs []sub
	for _, sfd := range fd.GetStructArrays().GetFields() {
		c, err := column.FromFieldData(sfd)
		if err != nil {
			return nil, err
		}
		if c.Len() != n {
			return nil, fmt.Errorf("field %s[%s] has %d rows, want %d", fd.GetFieldName(), sfd.GetFieldName(), c.Len(), n)
		}
		subs = append(subs, sub{sfd.GetFieldName(), c, int(sfd.GetVectors().GetDim())})
	}
	out := make([]any, n)
	for i := range n {
		var elems []map[string]any
		for _, s := range subs {
			var vals []any
			switch c := s.col.(type) {
			case *column.Scalar[*schemapb.ScalarField]:
				v := reflect.ValueOf(arrayValue(c.Data[i], allowInt64))
				if v.Kind() == reflect.Slice {
					for j := range v.Len() {
						vals = append(vals, v.Index(j).Interface())
					}
				}
			case *column.Scalar[*schemapb.VectorField]:
				data := c.Data[i].GetFloatVector().GetData()
				dim := int(c.Data[i].GetDim())
				if dim == 0 {
					dim = s.dim
				}
				for j := 0; dim > 0 && j+dim <= len(data); j += dim {
					vec := make([]any, dim)
					for k, x := range data[j : j+dim] {
						vec[k] = finite32(x)
					}
					vals = append(vals, vec)
				}
			}
			for j, v := range vals {
				for len(elems) <= j {
					elems = append(elems, map[string]any{})
				}
				elems[j][s.name] = v
			}
		}
		if elems == nil {
			elems = []map[string]any{}
		}
		out[i] = elems
	}
	return out, nil
}
