package index

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// IntParam reads an integer parameter, returning def when absent. It
// enforces lo <= value <= hi and reports errors wrapping ErrInvalidParam in
// Milvus's words ("param 'M' (100) should be in range [2, 2048]").
func IntParam(params map[string]string, key string, def, lo, hi int) (int, error) {
	s, ok := lookup(params, key)
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v != float64(int64(v)) {
		return 0, fmt.Errorf("param '%s' (%s) should be an integer: %w", key, s, ErrInvalidParam)
	}
	n := int(v)
	if n < lo || n > hi {
		return 0, fmt.Errorf("Out of range in json: param '%s' (%d) should be in range [%d, %d]: %w", key, n, lo, hi, ErrInvalidParam)
	}
	return n, nil
}

// FloatParam reads a float parameter, returning def and false when absent.
func FloatParam(params map[string]string, key string, def float64) (float64, bool, error) {
	s, ok := lookup(params, key)
	if !ok {
		return def, false, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, false, fmt.Errorf("param '%s' (%s) should be a number: %w", key, s, ErrInvalidParam)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, fmt.Errorf("param '%s' (%s) should be a finite number: %w", key, s, ErrInvalidParam)
	}
	return v, true, nil
}

// StringParam reads a string parameter, returning def when absent.
func StringParam(params map[string]string, key, def string) string {
	if s, ok := lookup(params, key); ok {
		return s
	}
	return def
}

// lookup finds key exactly, then case-insensitively (Milvus accepts
// "efConstruction" and clients sometimes send "efconstruction").
func lookup(params map[string]string, key string) (string, bool) {
	if v, ok := params[key]; ok {
		return v, true
	}
	for k, v := range params {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}
