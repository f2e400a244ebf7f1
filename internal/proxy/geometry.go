package proxy

import (
	"fmt"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/errs"
	"github.com/milvago/milvago/internal/geometry"
	"github.com/milvago/milvago/internal/model"
)

// Geometry in the proxy, after Milvus 2.6 (validate_util.checkGeometryFieldData,
// validateGeometryFieldSearchResult, rootcoord checkGeometryDefaultValue):
// inserts carry WKT (geometry_wkt_data), stored as little-endian WKB; we
// also take WKB (geometry_data). Reads return WKT. A default value is WKT
// text, stored as WKB and described as WKT.

func errGeometry(err error) error {
	return errs.Wrap(errs.ErrIoFailed, ": "+err.Error(), "")
}

// geometryInput converts Geometry columns to WKB in geometry_data: WKT is
// parsed, WKB is checked (and made little-endian). The null slots of a
// column in the full form are skipped. The request's FieldData are not
// modified.
func geometryInput(c *model.Collection, fields []*schemapb.FieldData) ([]*schemapb.FieldData, error) {
	return convertFields(c, fields, func(fd *schemapb.FieldData, f *schemapb.FieldSchema) (*schemapb.FieldData, error) {
		return geometryField(fd, f, false)
	})
}

// geometryField is one column's conversion (fd itself when there is
// nothing to convert). everySlot converts every value sent, null slots
// too, as Milvus's checkGeometryFieldData does before any length check
// (validate_util.go:923-940).
func geometryField(fd *schemapb.FieldData, f *schemapb.FieldSchema, everySlot bool) (*schemapb.FieldData, error) {
	if f == nil || f.GetDataType() != schemapb.DataType_Geometry {
		return fd, nil
	}
	var rows [][]byte
	valid := fd.GetValidData()
	if wkt := fd.GetScalars().GetGeometryWktData(); wkt != nil {
		full := len(valid) == len(wkt.GetData())
		rows = make([][]byte, len(wkt.GetData()))
		for j, s := range wkt.GetData() {
			if full && !valid[j] && !everySlot {
				continue
			}
			b, err := geometry.WKTToWKB(s)
			if err != nil {
				return nil, errGeometry(err)
			}
			rows[j] = b
		}
	} else if wkb := fd.GetScalars().GetGeometryData(); wkb != nil {
		full := len(valid) == len(wkb.GetData())
		rows = make([][]byte, len(wkb.GetData()))
		for j, b := range wkb.GetData() {
			if full && !valid[j] {
				continue // WKB: Milvago's own form, null slots stay skipped
			}
			le, err := geometry.CheckWKB(b)
			if err != nil {
				return nil, errGeometry(err)
			}
			rows[j] = le
		}
	} else {
		return fd, nil // no payload: insertColumns reports it
	}
	return &schemapb.FieldData{
		Type: fd.GetType(), FieldName: fd.GetFieldName(), FieldId: fd.GetFieldId(), IsDynamic: fd.GetIsDynamic(),
		ValidData: valid,
		Field: &schemapb.FieldData_Scalars{Scalars: &schemapb.ScalarField{
			Data: &schemapb.ScalarField_GeometryData{GeometryData: &schemapb.GeometryArray{Data: rows}},
		}},
	}, nil
}

// geometryOutput rewrites Geometry result columns from WKB to WKT.
func geometryOutput(fds []*schemapb.FieldData) error {
	for _, fd := range fds {
		if fd.GetType() != schemapb.DataType_Geometry {
			continue
		}
		wkb := fd.GetScalars().GetGeometryData()
		if wkb == nil {
			continue
		}
		valid := fd.GetValidData()
		strs := make([]string, len(wkb.GetData()))
		for i, b := range wkb.GetData() {
			if len(valid) == len(strs) && !valid[i] {
				continue
			}
			s, err := geometry.WKBToWKT(b)
			if err != nil {
				return fmt.Errorf("geometry field %s row %d: %v: %w", fd.GetFieldName(), i, err, errs.ErrServiceInternal)
			}
			strs[i] = s
		}
		fd.GetScalars().Data = &schemapb.ScalarField_GeometryWktData{GeometryWktData: &schemapb.GeometryWktArray{Data: strs}}
	}
	return nil
}

// geometryDefaults checks Geometry default values (WKT text) and stores
// them as WKB, as Milvus's rootcoord does.
func geometryDefaults(schema *schemapb.CollectionSchema) error {
	for _, f := range schema.GetFields() {
		if f.GetDataType() != schemapb.DataType_Geometry || f.GetDefaultValue() == nil {
			continue
		}
		b, err := geometry.WKTToWKB(f.GetDefaultValue().GetStringData())
		if err != nil {
			return errInvalidMsg("invalid default value for geometry field")
		}
		f.DefaultValue = &schemapb.ValueField{Data: &schemapb.ValueField_BytesData{BytesData: b}}
	}
	return nil
}

// typedConv converts a Timestamptz or Geometry column of c as Milvus's
// Validate does, every value sent (null slots of the full form too).
func typedConv(c *model.Collection) fieldConv {
	tz := collectionZone(c)
	return func(fd *schemapb.FieldData, f *schemapb.FieldSchema) (*schemapb.FieldData, error) {
		fd, err := timestamptzField(fd, f, tz, true)
		if err != nil {
			return nil, err
		}
		return geometryField(fd, f, true)
	}
}

// typedInput converts the columns whose wire form differs from their
// stored form: Timestamptz ISO strings and Geometry WKT/WKB.
func typedInput(c *model.Collection, fields []*schemapb.FieldData) ([]*schemapb.FieldData, error) {
	fields, err := timestamptzInput(c, fields)
	if err != nil {
		return nil, err
	}
	return geometryInput(c, fields)
}
