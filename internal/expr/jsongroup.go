package expr

// JSONKind classifies a JSON value found at a path.
type JSONKind uint8

const (
	JSONMissing JSONKind = iota // no value at the path
	JSONNull
	JSONBool
	JSONInt // an integer that fits int64
	JSONFloat
	JSONString
	JSONArray
	JSONObject
)

// JSONValue is the value at a path of a JSON document, as a grouping
// search reads it: Raw is its JSON text, Bool / Int / Str its decoded
// scalar for the matching kinds.
type JSONValue struct {
	Kind JSONKind
	Bool bool
	Int  int64
	Str  string
	Raw  []byte
}

// JSONAt finds the value at path (object keys or array indexes; empty:
// the whole document) in doc without decoding anything else.
func JSONAt(doc []byte, path []string) JSONValue {
	v := lookup(doc, fieldRef{Path: path})
	out := JSONValue{Raw: v.raw, Bool: v.b, Int: v.i, Str: v.s}
	switch v.kind {
	case jNull:
		out.Kind = JSONNull
	case jBool:
		out.Kind = JSONBool
	case jInt:
		out.Kind = JSONInt
	case jFloat:
		out.Kind = JSONFloat
	case jString:
		out.Kind = JSONString
		out.Str = string([]byte(v.s)) // v.s may alias doc
	case jArray:
		out.Kind = JSONArray
	case jObject:
		out.Kind = JSONObject
	default:
		out.Kind = JSONMissing
	}
	return out
}
