package column

// Batch is a set of columns over the same rows, fetched by field ID and
// possibly loaded on demand. The filter engine evaluates against it and
// segments implement it, so neither depends on the other.
type Batch interface {
	// Len is the number of rows.
	Len() int
	// Column returns the values of field fieldID for every row. The dynamic
	// field ($meta) is a JSON column like any other.
	Column(fieldID int64) (Column, error)
}
