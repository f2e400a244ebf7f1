// Package config is Milvago's one configuration: a typed tree read from a
// YAML file in the key layout of Milvus's milvus.yaml (so an operator can
// reuse theirs), from the environment and from command-line flags.
//
// Every key is listed in keys.go with its type, default and help text
// (Keys). Values are applied in this order, each overriding the previous:
// defaults, the file, the environment, flags. Environment variables follow
// Milvus's convention (paramtable's env source): a variable names a key when
// both, lowercased and stripped of '_', '.' and '/', are equal, so
// MINIO_ACCESS_KEY_ID, MINIOACCESSKEYID and minio_accessKeyID all set
// minio.accessKeyID; the same name with the MILVUS_CONF_ prefix wins over the
// unprefixed one. File keys match case-insensitively, as in Milvus.
//
// Keys Milvus does not have live under the `milvago:` section. A file key
// that is neither Milvago's nor one of Milvus 2.6's (milvus_keys.txt) is
// reported as unknown; Milvus keys Milvago does not use are reported
// quietly. Neither stops the load. A bad value (wrong type, port out of
// range, unknown mq.type, empty endpoints, ...) fails Load with an error that
// names the key, the value and where it came from.
//
// Only cmd/ reads files, the environment and flags; components receive the
// parts of a loaded Config they need.
package config
