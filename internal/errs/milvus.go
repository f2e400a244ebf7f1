package errs

import "fmt"

// More of merr's wrappers, with Milvus's exact renderings (pkg/util/merr/utils.go).

// CollectionNotFoundWithDB is merr.WrapErrCollectionNotFoundWithDB, what
// Milvus's rootcoord returns for a name that names no collection:
// "collection not found[database=<db>][collection=<name>]" (100).
func CollectionNotFoundWithDB(db, collection any) error {
	return &detailed{base: ErrCollectionNotFound, detail: fmt.Sprintf("[database=%v][collection=%v]", db, collection)}
}

// CollectionSchemaMismatch is merr.WrapErrCollectionSchemaMisMatch: a write
// carried the schema timestamp of an older schema (109). The SDKs refresh
// their cached schema and retry on this code.
func CollectionSchemaMismatch(collection any) error {
	return with(ErrCollectionSchemaMismatch, "collection", collection, nil)
}

// CollectionLoaded is merr.WrapErrCollectionLoaded (104):
// "<reason>: collection already loaded[collection=<name>]".
func CollectionLoaded(collection any, reason string) error {
	return fmt.Errorf("%s: %w", reason, with(ErrCollectionLoaded, "collection", collection, nil))
}

// Plain is an error Milvus returns without a catalogue entry (a bare
// fmt.Errorf or errors.New): on the wire it has code 65535 and exactly
// this message.
func Plain(format string, args ...any) error {
	return &Error{Code: ErrUnexpected.Code, Msg: fmt.Sprintf(format, args...)}
}
