package expr

import (
	"strconv"
	"unsafe"
)

// The JSON flat index (Milvus 2.6's INVERTED index with json_cast_type
// JSON): one index under a path prefix holding every scalar below it,
// keyed by (relative path, value). A filter on any path under the prefix
// asks it through KeyAny: its keys are of every JSON scalar kind, and a
// Bound's Kind says which kind a lookup reads.

// JSONWalk calls fn for every scalar under prefix in a JSON document
// (prefix itself included): rel is the path below prefix (its slice and
// strings valid only during the call: they may point into doc), the value
// as JSONScalarAt reads it (s too may point into doc). Objects are walked
// into; the scalar elements of an array are reported at the array's own
// path (what an array's elements are looked up by: json_contains); objects
// and arrays inside arrays are not walked. Nulls are not reported.
func JSONWalk(doc []byte, prefix []string, fn func(rel []string, kind KeyKind, i int64, f float64, s string)) {
	var raw []byte
	if len(prefix) == 0 {
		i := skipWS(doc, 0)
		if i >= len(doc) {
			return
		}
		raw = doc[i:skipValue(doc, i)]
	} else {
		var ok bool
		if raw, ok = jsonLookup(doc, prefix); !ok {
			return
		}
	}
	walkJSON(raw, make([]string, 0, 8), fn)
}

func walkJSON(raw []byte, rel []string, fn func(rel []string, kind KeyKind, i int64, f float64, s string)) {
	if len(raw) == 0 {
		return
	}
	switch raw[0] {
	case '{':
		forEachMember(raw, func(key string, v []byte) {
			walkJSON(v, append(rel, key), fn)
		})
	case '[':
		forEachElem(raw, func(e []byte) bool {
			if k, i, f, s := jsonScalar(parseJSONVal(e)); k != KeyNone {
				fn(rel, k, i, f, s)
			}
			return true
		})
	default:
		if k, i, f, s := jsonScalar(parseJSONVal(raw)); k != KeyNone {
			fn(rel, k, i, f, s)
		}
	}
}

// forEachMember calls fn with each member of the JSON object raw (the key
// unescaped; without escapes it points into raw), in document order.
func forEachMember(raw []byte, fn func(key string, v []byte)) {
	if len(raw) == 0 || raw[0] != '{' {
		return
	}
	i := skipWS(raw, 1)
	for i < len(raw) && raw[i] == '"' {
		end, esc := skipString(raw, i)
		if end-i < 2 || end > len(raw) {
			return
		}
		body := raw[i+1 : end-1]
		key := unsafe.String(unsafe.SliceData(body), len(body))
		if esc {
			s, ok := unescapeJSON(body)
			if !ok {
				return
			}
			key = s
		}
		i = skipWS(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return
		}
		i = skipWS(raw, i+1)
		vend := skipValue(raw, i)
		if vend == i {
			return
		}
		fn(key, raw[i:vend])
		i = skipWS(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = skipWS(raw, i+1)
		}
	}
}

// FlatPathUsable reports whether a flat index can serve a filter on the
// path rel below its prefix: not when a key is a decimal number, which may
// be an array index (the flat index records an array's elements at the
// array's path, without positions), as Milvus's CanUseIndex decides.
func FlatPathUsable(rel []string) bool {
	for _, k := range rel {
		if _, err := strconv.ParseUint(k, 10, 64); err == nil {
			return false
		}
	}
	return true
}
