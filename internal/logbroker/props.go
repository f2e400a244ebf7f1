package logbroker

import (
	"strings"
)

// Properties travel as NATS message headers. A header line is
// "Key: Value\r\n", so keys and values are escaped to survive it: every
// byte outside the safe sets below becomes %XX. Keys get propKeyPrefix so
// that they never collide with the headers NATS reserves ("Nats-...").

// propKeyPrefix prefixes every property's header key.
const propKeyPrefix = "P-"

const hexDigits = "0123456789ABCDEF"

// safeKeyByte reports whether b may appear unescaped in a header key.
func safeKeyByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.'
}

// safeValueByte reports whether b may appear unescaped in a header value:
// printable ASCII without space (NATS trims spaces around values).
func safeValueByte(b byte) bool {
	return b > ' ' && b < 0x7f && b != '%'
}

// escapedLen is the length of s escaped with safe.
func escapedLen(s string, safe func(byte) bool) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			n += 2
		}
	}
	return n
}

// escape replaces every byte of s that is not safe with %XX.
func escape(s string, safe func(byte) bool) string {
	if escapedLen(s, safe) == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(escapedLen(s, safe))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// unescape reverses escape. Malformed escapes are kept literally: they
// cannot come from escape.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// propKey is the header key of property k.
func propKey(k string) string { return propKeyPrefix + escape(k, safeKeyByte) }

// propValue is the header value of a property value.
func propValue(v string) string { return escape(v, safeValueByte) }

// propsSize is the size of props encoded as header lines; Append rejects
// properties larger than propsReserve in every backend alike.
func propsSize(props map[string]string) int {
	n := 0
	for k, v := range props {
		n += len(propKeyPrefix) + escapedLen(k, safeKeyByte) + escapedLen(v, safeValueByte) + len(": \r\n")
	}
	return n
}
