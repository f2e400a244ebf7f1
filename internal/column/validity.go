package column

// Validity masks of nullable vector columns. A nil mask means every row is
// valid; the helpers keep a mask nil until a null row appears.

// takeValid returns the mask of rows idx of valid, or nil.
func takeValid(valid []bool, idx []int) []bool {
	if valid == nil {
		return nil
	}
	out := make([]bool, len(idx))
	for j, i := range idx {
		out[j] = valid[i]
	}
	return out
}

// sliceValid returns rows [lo, hi) of valid, or nil.
func sliceValid(valid []bool, lo, hi int) []bool {
	if valid == nil {
		return nil
	}
	return valid[lo:hi:hi]
}

// appendValid appends the mask of m more rows (other, nil when all valid)
// to the mask of n rows (valid, nil when all valid).
func appendValid(valid []bool, n int, other []bool, m int) []bool {
	if valid == nil && other == nil {
		return nil
	}
	if valid == nil {
		valid = make([]bool, n, n+m)
		for i := range valid {
			valid[i] = true
		}
	}
	if other != nil {
		return append(valid, other...)
	}
	for range m {
		valid = append(valid, true)
	}
	return valid
}

// ValidCount is the number of valid rows of c.
func ValidCount(c Column) int {
	n := 0
	for i := range c.Len() {
		if !c.IsNull(i) {
			n++
		}
	}
	return n
}

// ValidRows returns the offsets of c's valid rows, in order, or nil when
// c has no null row.
func ValidRows(c Column) []int {
	n := c.Len()
	var out []int
	for i := range n {
		if c.IsNull(i) {
			if out == nil {
				out = make([]int, i, n)
				for j := range i {
					out[j] = j
				}
			}
			continue
		}
		if out != nil {
			out = append(out, i)
		}
	}
	return out
}

// expandFixedVector expands a vector payload of w elements a row sent in
// compact form (valid rows only) to one zero-filled slot per row.
func expandFixedVector[T any](data *[]T, w int, valid []bool, expand func(int) (bool, error)) error {
	if w <= 0 {
		return nil
	}
	grow, err := expand(len(*data) / w)
	if err != nil || !grow {
		return err
	}
	full := make([]T, len(valid)*w)
	j := 0
	for i, ok := range valid {
		if ok {
			copy(full[i*w:(i+1)*w], (*data)[j*w:(j+1)*w])
			j++
		}
	}
	*data = full
	return nil
}

// expandRows expands compact sparse rows to one (empty when null) row
// per validity slot. Rows already in full form are returned as they are.
func expandRows(rows [][]byte, valid []bool) [][]byte {
	if len(rows) == len(valid) {
		return rows
	}
	full := make([][]byte, len(valid))
	j := 0
	for i, ok := range valid {
		if ok {
			full[i] = rows[j]
			j++
		}
	}
	return full
}

// compactFixed returns the w-element rows of data whose valid slot is
// true (all of data when valid is nil).
func compactFixed[T any](data []T, w int, valid []bool) []T {
	if valid == nil {
		return data
	}
	out := make([]T, 0, len(data))
	for i, ok := range valid {
		if ok {
			out = append(out, data[i*w:(i+1)*w]...)
		}
	}
	return out
}
