package expr

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A small JSON scanner for filters: it finds the value at a path without
// decoding anything else, skipping unrelated members, and never allocates
// unless a key or string value contains escapes. Malformed documents never
// panic: a lookup in them finds nothing or a truncated value.

func isJSONSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r') }

func skipWS(d []byte, i int) int {
	for i < len(d) && d[i] <= ' ' && isJSONSpace(d[i]) {
		i++
	}
	return i
}

// smallInt parses a JSON integer of up to 18 digits without strconv.
func smallInt(s string) (int64, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int64(c)
	}
	if neg {
		v = -v
	}
	return v, true
}

// skipString returns the index just past the string starting at d[i] == '"'
// and whether it contains escapes.
func skipString(d []byte, i int) (int, bool) {
	esc := false
	for i++; i < len(d); i++ {
		switch d[i] {
		case '\\':
			esc = true
			i++
		case '"':
			return i + 1, esc
		}
	}
	return len(d), esc
}

// skipValue returns the index just past the value starting at d[i].
func skipValue(d []byte, i int) int {
	if i >= len(d) {
		return i
	}
	switch d[i] {
	case '"':
		end, _ := skipString(d, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				i, _ = skipString(d, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(d)
	}
	for i < len(d) {
		switch d[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// jsonLookup returns the raw value at path in d.
func jsonLookup(d []byte, path []string) ([]byte, bool) {
	i := skipWS(d, 0)
	for _, key := range path {
		if i >= len(d) {
			return nil, false
		}
		switch d[i] {
		case '{':
			found := false
			i = skipWS(d, i+1)
			for i < len(d) && d[i] == '"' {
				end, esc := skipString(d, i)
				match := false
				if end-1 <= len(d) && end-i >= 2 {
					raw := d[i+1 : end-1]
					if esc {
						s, ok := unescapeJSON(raw)
						match = ok && s == key
					} else {
						match = string(raw) == key
					}
				}
				i = skipWS(d, end)
				if i >= len(d) || d[i] != ':' {
					return nil, false
				}
				i = skipWS(d, i+1)
				if match {
					found = true
					break
				}
				i = skipWS(d, skipValue(d, i))
				if i < len(d) && d[i] == ',' {
					i = skipWS(d, i+1)
				}
			}
			if !found {
				return nil, false
			}
		case '[':
			idx, err := strconv.Atoi(key)
			if err != nil || idx < 0 {
				return nil, false
			}
			i = skipWS(d, i+1)
			for k := 0; ; k++ {
				if i >= len(d) || d[i] == ']' {
					return nil, false
				}
				if k == idx {
					break
				}
				i = skipWS(d, skipValue(d, i))
				if i >= len(d) || d[i] != ',' {
					return nil, false
				}
				i = skipWS(d, i+1)
			}
		default:
			return nil, false
		}
	}
	if i >= len(d) {
		return nil, false
	}
	return d[i:skipValue(d, i)], true
}

// forEachElem calls fn with each element of the JSON array raw until fn
// returns false.
func forEachElem(raw []byte, fn func(elem []byte) bool) {
	if len(raw) == 0 || raw[0] != '[' {
		return
	}
	i := skipWS(raw, 1)
	for i < len(raw) && raw[i] != ']' {
		end := skipValue(raw, i)
		if end == i || !fn(raw[i:end]) {
			return
		}
		i = skipWS(raw, end)
		if i < len(raw) && raw[i] == ',' {
			i = skipWS(raw, i+1)
		}
	}
}

// parseJSONVal classifies a raw JSON value.
func parseJSONVal(raw []byte) jsonVal {
	if len(raw) == 0 {
		return jsonVal{}
	}
	switch c := raw[0]; {
	case c == '"':
		end, esc := skipString(raw, 0)
		if end < 2 || raw[end-1] != '"' {
			return jsonVal{kind: jNull} // truncated string
		}
		body := raw[1 : end-1]
		if esc {
			s, ok := unescapeJSON(body)
			if !ok {
				return jsonVal{kind: jNull}
			}
			return jsonVal{kind: jString, s: s, raw: raw}
		}
		return jsonVal{kind: jString, s: unsafe.String(unsafe.SliceData(body), len(body)), raw: raw}
	case c == '{':
		return jsonVal{kind: jObject, raw: raw}
	case c == '[':
		return jsonVal{kind: jArray, raw: raw}
	case c == 't':
		return jsonVal{kind: jBool, b: true, raw: raw}
	case c == 'f':
		return jsonVal{kind: jBool, raw: raw}
	case c == 'n':
		return jsonVal{kind: jNull, raw: raw}
	}
	s := unsafe.String(unsafe.SliceData(raw), len(raw))
	isFloat := false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == 'e' || s[i] == 'E' {
			isFloat = true
			break
		}
	}
	if !isFloat {
		if i, ok := smallInt(s); ok {
			return jsonVal{kind: jInt, i: i, f: float64(i), raw: raw}
		}
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return jsonVal{kind: jInt, i: i, f: float64(i), raw: raw}
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return jsonVal{kind: jNull, raw: raw} // not a number: treat as unusable
	}
	return jsonVal{kind: jFloat, f: f, raw: raw}
}

// unescapeJSON decodes the body of a JSON string with escapes.
func unescapeJSON(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return "", false
		}
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b, i+1)
			if !ok {
				return "", false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+2 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, ok := hex4(b, i+3); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						}
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return string(out), true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}
