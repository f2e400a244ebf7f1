package expr

import (
	"encoding/json"
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
)

// planFormatVersion is the version of the serialized plan (docs/expr.md).
const planFormatVersion = 1

// wirePlan is the serialized plan: the canonical expression, which parses
// back into the same plan against the same schema, plus the field IDs it
// was resolved to so that a schema change is detected rather than silently
// re-bound.
type wirePlan struct {
	Version int     `json:"v"`
	Expr    string  `json:"expr"`
	Fields  []int64 `json:"fields"`
	// Casts are the JSON cast functions the plan applies (WithJSONCasts).
	Casts []JSONCast `json:"casts,omitempty"`
}

// Marshal serializes the plan for shipping to query nodes. Template values
// are already substituted.
func (e *Expr) Marshal() ([]byte, error) {
	return json.Marshal(wirePlan{Version: planFormatVersion, Expr: e.String(), Fields: e.fields, Casts: e.casts})
}

// Unmarshal restores a plan produced by Marshal against the same schema.
func Unmarshal(schema *schemapb.CollectionSchema, data []byte) (*Expr, error) {
	var w wirePlan
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode filter plan: %v: %w", err, errs.ErrParameterInvalid)
	}
	if w.Version != planFormatVersion {
		return nil, fmt.Errorf("decode filter plan: unsupported version %d: %w", w.Version, errs.ErrParameterInvalid)
	}
	// NaN and ±Inf constants are written as templates (formatFloat).
	e, err := Parse(schema, w.Expr, nonFinite())
	if err != nil {
		return nil, fmt.Errorf("decode filter plan: %w", err)
	}
	if len(e.fields) != len(w.Fields) {
		return nil, fmt.Errorf("decode filter plan: fields %v resolve to %v under this schema: %w", w.Fields, e.fields, errs.ErrParameterInvalid)
	}
	for i := range w.Fields {
		if w.Fields[i] != e.fields[i] {
			return nil, fmt.Errorf("decode filter plan: fields %v resolve to %v under this schema: %w", w.Fields, e.fields, errs.ErrParameterInvalid)
		}
	}
	if len(w.Casts) > 0 {
		e = e.WithJSONCasts(w.Casts)
	}
	return e, nil
}
