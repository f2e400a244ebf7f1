package importer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/milvus-io/milvus-proto/go-api/v2/schemapb"

	"github.com/milvago/milvago/internal/column"
	"github.com/milvago/milvago/internal/jsonrows"
)

// npyArray is one .npy file: its dtype, shape and raw little-endian data.
type npyArray struct {
	descr string
	shape []int
	data  []byte
}

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// parseNpy reads the .npy format (numpy.lib.format, versions 1 to 3).
func parseNpy(b []byte) (*npyArray, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not a numpy file (bad magic)")
	}
	var hlen, off int
	switch b[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("truncated numpy header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("unsupported numpy format version %d", b[6])
	}
	if off+hlen > len(b) {
		return nil, fmt.Errorf("truncated numpy header")
	}
	h := string(b[off : off+hlen])
	a := &npyArray{data: b[off+hlen:]}
	m := npyDescr.FindStringSubmatch(h)
	if m == nil {
		return nil, fmt.Errorf("numpy header has no descr")
	}
	a.descr = m[1]
	if f := npyFortran.FindStringSubmatch(h); f != nil && f[1] == "True" {
		return nil, fmt.Errorf("fortran order is not supported")
	}
	s := npyShape.FindStringSubmatch(h)
	if s == nil {
		return nil, fmt.Errorf("numpy header has no shape")
	}
	for _, part := range strings.Split(s[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad numpy shape %q", s[1])
		}
		a.shape = append(a.shape, n)
	}
	if len(a.shape) == 0 {
		return nil, fmt.Errorf("numpy scalar arrays are not supported")
	}
	return a, nil
}

// itemSize is the byte width of one element of the dtype.
func (a *npyArray) itemSize() (int, error) {
	d := strings.TrimLeft(a.descr, "<|=")
	if strings.HasPrefix(a.descr, ">") {
		return 0, fmt.Errorf("big-endian numpy data (%s) is not supported", a.descr)
	}
	if len(d) < 2 {
		return 0, fmt.Errorf("unsupported numpy dtype %s", a.descr)
	}
	n, err := strconv.Atoi(d[1:])
	if err != nil {
		return 0, fmt.Errorf("unsupported numpy dtype %s", a.descr)
	}
	if d[0] == 'U' {
		return 4 * n, nil
	}
	return n, nil
}

// cells renders each row (the first dimension) as a JSON value.
func (a *npyArray) cells() ([]json.RawMessage, error) {
	size, err := a.itemSize()
	if err != nil {
		return nil, err
	}
	rows := a.shape[0]
	per := 1
	for _, d := range a.shape[1:] {
		per *= d
	}
	if len(a.data) < rows*per*size {
		return nil, fmt.Errorf("numpy data is shorter than its shape %v", a.shape)
	}
	kind := strings.TrimLeft(a.descr, "<|=")[0]
	elem := func(b []byte) ([]byte, error) {
		switch kind {
		case 'b':
			return strconv.AppendBool(nil, b[0] != 0), nil
		case 'i':
			switch size {
			case 1:
				return strconv.AppendInt(nil, int64(int8(b[0])), 10), nil
			case 2:
				return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(b))), 10), nil
			case 4:
				return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(b))), 10), nil
			case 8:
				return strconv.AppendInt(nil, int64(binary.LittleEndian.Uint64(b)), 10), nil
			}
		case 'u':
			switch size {
			case 1:
				return strconv.AppendUint(nil, uint64(b[0]), 10), nil
			case 2:
				return strconv.AppendUint(nil, uint64(binary.LittleEndian.Uint16(b)), 10), nil
			case 4:
				return strconv.AppendUint(nil, uint64(binary.LittleEndian.Uint32(b)), 10), nil
			}
		case 'f':
			var f float64
			switch size {
			case 4:
				f = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			case 8:
				f = math.Float64frombits(binary.LittleEndian.Uint64(b))
			default:
				return nil, fmt.Errorf("unsupported numpy dtype %s", a.descr)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("value %v is not a finite number", f)
			}
			bits := 64
			if size == 4 {
				bits = 32
			}
			return strconv.AppendFloat(nil, f, 'g', -1, bits), nil
		case 'U':
			var sb strings.Builder
			for i := 0; i+4 <= len(b); i += 4 {
				r := rune(binary.LittleEndian.Uint32(b[i:]))
				if r == 0 {
					break
				}
				if !utf8.ValidRune(r) {
					return nil, fmt.Errorf("invalid unicode in numpy string")
				}
				sb.WriteRune(r)
			}
			return json.Marshal(sb.String())
		case 'S':
			end := len(b)
			for end > 0 && b[end-1] == 0 {
				end--
			}
			return json.Marshal(string(b[:end]))
		}
		return nil, fmt.Errorf("unsupported numpy dtype %s", a.descr)
	}
	out := make([]json.RawMessage, rows)
	for r := range rows {
		base := r * per * size
		if len(a.shape) == 1 {
			v, err := elem(a.data[base : base+size])
			if err != nil {
				return nil, err
			}
			out[r] = v
			continue
		}
		buf := []byte{'['}
		for j := range per {
			if j > 0 {
				buf = append(buf, ',')
			}
			v, err := elem(a.data[base+j*size : base+(j+1)*size])
			if err != nil {
				return nil, err
			}
			buf = append(buf, v...)
		}
		out[r] = append(buf, ']')
	}
	return out, nil
}

// readNumPy reads a group of .npy files, one per field, named after it.
func readNumPy(ctx context.Context, objs Objects, schema *schemapb.CollectionSchema, files []string) ([]*schemapb.FieldData, int, error) {
	byName := map[string]*schemapb.FieldSchema{}
	for _, f := range schema.GetFields() {
		byName[f.GetName()] = f
	}
	cols := map[string][]json.RawMessage{}
	var direct []*schemapb.FieldData // fields read as whole columns
	n := -1
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), path.Ext(file))
		f, ok := byName[name]
		if !ok {
			continue // Milvus 2.6 ignores files of unknown fields
		}
		if f.GetIsPrimaryKey() && f.GetAutoID() {
			return nil, 0, Failed("the primary key '%s' is auto-generated, no need to provide", name)
		}
		if f.GetIsFunctionOutput() {
			return nil, 0, Failed("the field '%s' is output by function, no need to provide", name)
		}
		b, err := objs.Get(ctx, file)
		if err != nil {
			return nil, 0, fmt.Errorf("importer: read %s: %w", file, err)
		}
		a, err := parseNpy(b)
		if err != nil {
			return nil, 0, Failed("failed to read numpy file %s: %v", file, err)
		}
		if fd := a.column(f); fd != nil {
			if n >= 0 && a.shape[0] != n {
				return nil, 0, Failed("the row count of numpy file %s is %d, not equal to the other files' %d", file, a.shape[0], n)
			}
			n = a.shape[0]
			direct = append(direct, fd)
			continue
		}
		c, err := a.cells()
		if err != nil {
			return nil, 0, Failed("failed to read numpy file %s: %v", file, err)
		}
		if n >= 0 && len(c) != n {
			return nil, 0, Failed("the row count of numpy file %s is %d, not equal to the other files' %d", file, len(c), n)
		}
		n = len(c)
		cols[name] = c
	}
	for _, f := range schema.GetFields() {
		if _, ok := cols[f.GetName()]; ok || hasField(direct, f.GetName()) || f.GetIsFunctionOutput() || (f.GetIsPrimaryKey() && f.GetAutoID()) ||
			f.GetNullable() || f.GetDefaultValue() != nil || f.GetIsDynamic() {
			continue
		}
		return nil, 0, Failed("no file for field: %s, files: %v", f.GetName(), files)
	}
	if n <= 0 {
		return nil, 0, nil
	}
	rows := make([]map[string]json.RawMessage, n)
	for i := range rows {
		rows[i] = make(map[string]json.RawMessage, len(cols))
		for name, c := range cols {
			if byName[name].GetIsDynamic() {
				rows[i][jsonrows.MetaKey] = c[i]
				continue
			}
			rows[i][name] = c[i]
		}
	}
	return finishWith(schema, rows, direct)
}

func hasField(fields []*schemapb.FieldData, name string) bool {
	for _, fd := range fields {
		if fd.GetFieldName() == name {
			return true
		}
	}
	return false
}

// column reads the array as field f's whole column when its layout is
// the column's own (little-endian int64, int32, float, double, float
// vectors of the field's dimension), skipping the per-cell conversion;
// nil otherwise. The insert validation checks the values as for any insert.
func (a *npyArray) column(f *schemapb.FieldSchema) *schemapb.FieldData {
	if f.GetNullable() || f.GetIsDynamic() {
		return nil
	}
	rows := a.shape[0]
	switch {
	case f.GetDataType() == schemapb.DataType_FloatVector && a.descr == "<f4" && len(a.shape) == 2:
		dim, err := jsonrows.FieldDim(f)
		if err != nil || a.shape[1] != dim || len(a.data) < rows*dim*4 {
			return nil
		}
		v := &column.FloatVector{Dim: dim, Data: make([]float32, rows*dim)}
		for i := range v.Data {
			v.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.data[4*i:]))
		}
		return column.ToFieldData(v, f)
	case f.GetDataType() == schemapb.DataType_Int64 && a.descr == "<i8" && len(a.shape) == 1 && len(a.data) >= rows*8:
		c := &column.Scalar[int64]{Type: schemapb.DataType_Int64, Data: make([]int64, rows)}
		for i := range c.Data {
			c.Data[i] = int64(binary.LittleEndian.Uint64(a.data[8*i:]))
		}
		return column.ToFieldData(c, f)
	case f.GetDataType() == schemapb.DataType_Double && a.descr == "<f8" && len(a.shape) == 1 && len(a.data) >= rows*8:
		c := &column.Scalar[float64]{Type: schemapb.DataType_Double, Data: make([]float64, rows)}
		for i := range c.Data {
			c.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(a.data[8*i:]))
		}
		return column.ToFieldData(c, f)
	}
	return nil
}
