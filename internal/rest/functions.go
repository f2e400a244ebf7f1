package rest

// The collection-function endpoints of Milvus 2.6's RESTful v2 API
// (collections/add_function, alter_function, drop_function), and the
// conversion of a REST function definition (Milvus's FunctionSchema body)
// used by them, by collections/create's schema.functions and by search's
// functionScore. Bodies, keys and errors follow
// internal/distributed/proxy/httpserver (handler_v2.go, request_v2.go,
// utils.go genFunctionSchema).

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"
	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
)

// restFunction is Milvus's REST FunctionSchema.
type restFunction struct {
	Name             string         `json:"name"`
	Description      string         `json:"description"`
	Type             string         `json:"type"`
	InputFieldNames  []string       `json:"inputFieldNames"`
	OutputFieldNames []string       `json:"outputFieldNames"`
	Params           map[string]any `json:"params"`
}

// functionRoutes are the endpoints this file serves.
func (h *Handler) functionRoutes() map[string]endpoint {
	return map[string]endpoint{
		"/collections/add_function":   h.addFunction,
		"/collections/alter_function": h.alterFunction,
		"/collections/drop_function":  h.dropFunction,
	}
}

// functionSchema converts a REST function as Milvus's genFunctionSchema:
// the type by its exact (case-sensitive) enum name, slice and object
// params as JSON, other params as their text; params in key order.
func functionSchema(f *restFunction) (*schemapb.FunctionSchema, error) {
	t, ok := schemapb.FunctionType_value[f.Type]
	if !ok {
		return nil, errs.InvalidParameter("Unsupported function type: %s", f.Type)
	}
	sf := &schemapb.FunctionSchema{Name: f.Name, Description: f.Description, Type: schemapb.FunctionType(t),
		InputFieldNames: f.InputFieldNames, OutputFieldNames: f.OutputFieldNames}
	for _, k := range sortedKeys(f.Params) {
		sf.Params = append(sf.Params, &commonpb.KeyValuePair{Key: k, Value: paramText(f.Params[k])})
	}
	return sf, nil
}

// paramText renders a param value as Milvus's genFunctionSchema does.
func paramText(v any) string {
	if v != nil {
		if k := reflect.TypeOf(v).Kind(); k == reflect.Slice || k == reflect.Map {
			if b, err := json.Marshal(v); err == nil {
				return string(b)
			}
		}
	}
	return fmt.Sprintf("%v", v)
}

// describeFunctions lists a schema's functions as Milvus's
// printFunctionDetails: the type as its enum number, params as key/value
// objects.
func describeFunctions(fns []*schemapb.FunctionSchema) []map[string]any {
	out := make([]map[string]any, 0, len(fns))
	for _, f := range fns {
		params := f.GetParams()
		if params == nil {
			params = []*commonpb.KeyValuePair{}
		}
		out = append(out, map[string]any{
			"name":             f.GetName(),
			"description":      f.GetDescription(),
			"type":             int32(f.GetType()),
			"id":               f.GetId(),
			"inputFieldNames":  nonNil(f.GetInputFieldNames()),
			"outputFieldNames": nonNil(f.GetOutputFieldNames()),
			"params":           kvList(params),
		})
	}
	return out
}

// functionBody is the body of add_function and alter_function.
type functionBody struct {
	CollectionName string       `json:"collectionName"`
	FunctionName   string       `json:"functionName"`
	Function       restFunction `json:"function"`
}

func (c *call) functionBody() (*functionBody, *schemapb.FunctionSchema, error) {
	var r functionBody
	if err := c.decode(&r); err != nil {
		return nil, nil, err
	}
	// bind checked the keys Milvus's CollectionAddFunction and
	// CollectionAlterFunction require, the function's included.
	fn, err := functionSchema(&r.Function)
	if err != nil {
		return nil, nil, err
	}
	return &r, fn, nil
}

func (h *Handler) addFunction(ctx context.Context, c *call) (any, error) {
	r, fn, err := c.functionBody()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.AddCollectionFunction(ctx, &milvuspb.AddCollectionFunctionRequest{DbName: c.db,
		CollectionName: r.CollectionName, FunctionSchema: fn})
}

func (h *Handler) alterFunction(ctx context.Context, c *call) (any, error) {
	r, fn, err := c.functionBody()
	if err != nil {
		return nil, err
	}
	return empty(), h.p.AlterCollectionFunction(ctx, &milvuspb.AlterCollectionFunctionRequest{DbName: c.db,
		CollectionName: r.CollectionName, FunctionName: r.FunctionName, FunctionSchema: fn})
}

func (h *Handler) dropFunction(ctx context.Context, c *call) (any, error) {
	// Milvus's CollectionDropFunction binds "FunctionName"; encoding/json
	// matches keys case-insensitively, so "functionName" works as well.
	var r struct {
		CollectionName string `json:"collectionName"`
		FunctionName   string `json:"FunctionName"`
	}
	if err := c.decode(&r); err != nil {
		return nil, err
	}
	return empty(), h.p.DropCollectionFunction(ctx, &milvuspb.DropCollectionFunctionRequest{DbName: c.db,
		CollectionName: r.CollectionName, FunctionName: r.FunctionName})
}
