package proxy

import (
	"strconv"
	"strings"

	"github.com/milvago/milvago/internal/errs"
)

// Name rules follow Milvus 2.6's proxy (internal/proxy/util.go): names are
// trimmed of surrounding spaces, at most 255 bytes, start with a letter or
// an underscore and continue with letters, digits and underscores. The
// errors carry Milvus's codes and texts, which differ per kind of name.

func isAlpha(c byte) bool  { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isNumber(c byte) bool { return c >= '0' && c <= '9' }

// validateCollectionName checks a collection name as Milvus does (1100).
func validateCollectionName(name string) error {
	return validateCollectionNameOrAlias(name, "name")
}

// validateCollectionAlias checks an alias with the collection-name rules (1100).
func validateCollectionAlias(alias string) error {
	return validateCollectionNameOrAlias(alias, "alias")
}

// validateCollectionNameOrAlias checks a collection name (kind "name") or
// alias (kind "alias"). "collection name" and "collection alias" are
// accepted as spellings of the same two kinds.
func validateCollectionNameOrAlias(entity, kind string) error {
	kind = strings.TrimPrefix(kind, "collection ")
	entity = strings.TrimSpace(entity)
	if entity == "" {
		return errInvalidMsg("collection %s should not be empty", kind)
	}
	invalid := "Invalid collection " + kind + ": " + entity + "."
	if len(entity) > maxNameLength {
		return errInvalidMsg("%s the length of a collection %s must be less than %d characters", invalid, kind, maxNameLength)
	}
	if c := entity[0]; c != '_' && !isAlpha(c) {
		return errInvalidMsg("%s the first character of a collection %s must be an underscore or letter", invalid, kind)
	}
	for i := 1; i < len(entity); i++ {
		if c := entity[i]; c != '_' && !isAlpha(c) && !isNumber(c) {
			return errInvalidMsg("%s collection %s can only contain numbers, letters and underscores", invalid, kind)
		}
	}
	return nil
}

// fieldNameKeywords are the words of Milvus's expression language that may
// not name a field (pkg/common/keywords.go).
var fieldNameKeywords = map[string]struct{}{
	"$meta": {}, "like": {}, "exists": {}, "EXISTS": {}, "and": {}, "or": {}, "not": {}, "in": {},
	"json_contains": {}, "JSON_CONTAINS": {}, "json_contains_all": {}, "JSON_CONTAINS_ALL": {},
	"json_contains_any": {}, "JSON_CONTAINS_ANY": {}, "array_contains": {}, "ARRAY_CONTAINS": {},
	"array_contains_all": {}, "ARRAY_CONTAINS_ALL": {}, "array_contains_any": {}, "ARRAY_CONTAINS_ANY": {},
	"array_length": {}, "ARRAY_LENGTH": {}, "true": {}, "True": {}, "TRUE": {}, "false": {}, "False": {}, "FALSE": {},
	"text_match": {}, "TEXT_MATCH": {}, "phrase_match": {}, "PHRASE_MATCH": {}, "random_sample": {}, "RANDOM_SAMPLE": {},
}

// validateFieldName checks a field name (errs.ErrFieldInvalidName, 1701):
// "<reason>: field name invalid[field=<name>]".
func validateFieldName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errWithField(errs.ErrFieldInvalidName, "field", name, "field name should not be empty")
	}
	invalid := "Invalid field name: " + name + ". "
	if len(name) > maxNameLength {
		return errWithField(errs.ErrFieldInvalidName, "field", name,
			invalid+"The length of a field name must be less than "+strconv.Itoa(maxNameLength)+" characters.")
	}
	if c := name[0]; c != '_' && !isAlpha(c) {
		return errWithField(errs.ErrFieldInvalidName, "field", name,
			invalid+"The first character of a field name must be an underscore or letter.")
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlpha(c) && !isNumber(c) {
			return errWithField(errs.ErrFieldInvalidName, "field", name,
				invalid+"Field name can only contain numbers, letters, and underscores.")
		}
	}
	if _, ok := fieldNameKeywords[name]; ok {
		return errWithField(errs.ErrFieldInvalidName, "field", name, invalid+name+" is keyword in milvus.")
	}
	return nil
}

// validatePartitionName checks a partition name as Milvus's
// validatePartitionTag(name, strict=true) does. Milvus returns these as
// plain errors (code 65535). Unlike other names, a partition name may start
// with a digit and may contain '-'.
func validatePartitionName(name string) error {
	name = strings.TrimSpace(name)
	invalid := "Invalid partition name: " + name + ". "
	if name == "" {
		return errPlain("%sPartition name should not be empty.", invalid)
	}
	if len(name) > maxNameLength {
		return errPlain("%sThe length of a partition name must be less than %d characters.", invalid, maxNameLength)
	}
	if c := name[0]; c != '_' && !isAlpha(c) && !isNumber(c) {
		return errPlain("%sThe first character of a partition name must be an underscore or letter.", invalid)
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlpha(c) && !isNumber(c) && c != '-' {
			return errPlain("%sPartition name can only contain numbers, letters and underscores.", invalid)
		}
	}
	return nil
}

// validatePartitionNameForRead checks a partition name given to Search,
// Query or Delete: Milvus (validatePartitionTag with strict=false) only
// rejects empty and over-long names there; unknown names fail later with
// "partition name %s not found".
func validatePartitionNameForRead(name string) error {
	name = strings.TrimSpace(name)
	invalid := "Invalid partition name: " + name + ". "
	if name == "" {
		return errPlain("%sPartition name should not be empty.", invalid)
	}
	if len(name) > maxNameLength {
		return errPlain("%sThe length of a partition name must be less than %d characters.", invalid, maxNameLength)
	}
	return nil
}

// validateDatabaseName checks a database name (errs.ErrDatabaseInvalidName, 802):
// "<reason>: invalid database name[database=<name>]". Database names are not trimmed.
func validateDatabaseName(name string) error {
	if name == "" {
		return errWithField(errs.ErrDatabaseInvalidName, "database", name, "database name couldn't be empty")
	}
	if len(name) > maxNameLength {
		return errWithField(errs.ErrDatabaseInvalidName, "database", name,
			"the length of a database name must be less than "+strconv.Itoa(maxNameLength)+" characters")
	}
	if c := name[0]; c != '_' && !isAlpha(c) {
		return errWithField(errs.ErrDatabaseInvalidName, "database", name,
			"the first character of a database name must be an underscore or letter")
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlpha(c) && !isNumber(c) {
			return errWithField(errs.ErrDatabaseInvalidName, "database", name,
				"database name can only contain numbers, letters and underscores")
		}
	}
	return nil
}

// validateIndexName checks an index name. An empty name is valid: the
// caller names the index after its field, as Milvus does. Milvus returns
// these as plain errors (code 65535).
func validateIndexName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	invalid := "Invalid index name: " + name + ". "
	if len(name) > maxNameLength {
		return errPlain("%sThe length of a index name must be less than %d characters.", invalid, maxNameLength)
	}
	if c := name[0]; c != '_' && !isAlpha(c) {
		return errPlain("%sThe first character of a index name must be an underscore or letter.", invalid)
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; c != '_' && !isAlpha(c) && !isNumber(c) {
			return errPlain("%sIndex name can only contain numbers, letters, and underscores.", invalid)
		}
	}
	return nil
}
