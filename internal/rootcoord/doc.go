// Package rootcoord is the root coordinator: it owns DDL (databases,
// collections, partitions, aliases), the timestamp oracle, the global ID
// allocator and the assignment of virtual channels to physical channels.
//
// State lives in the meta store under "root/"; an in-memory copy serves
// reads. All DDL is serialised by one mutex (mu); reads take it shared.
// DDL that other coordinators must hear about (dropping a collection or a
// partition) is announced through the Hooks given at construction, after
// the meta store has recorded it.
package rootcoord
