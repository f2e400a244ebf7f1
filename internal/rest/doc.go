// Package rest serves Milvus 2.6's RESTful API v2 (POST /v2/vectordb/...)
// over the proxy, the same methods the gRPC service calls.
//
// Wire conventions, as Milvus's httpserver package:
//   - Every endpoint is a POST with a JSON body. Every answer is HTTP 200
//     with {"code":0,"data":...} on success and {"code":<Milvus code>,
//     "message":"..."} on failure; the HTTP status only differs for paths
//     that do not exist (404), methods other than POST (405) and requests
//     that ran out of time (408, code 408, as Milvus's timeout middleware).
//   - The database is the body's dbName, else the DB-Name header, else
//     "default". "Authorization: Bearer ..." is accepted and ignored (no
//     authentication yet). "Request-Timeout: <seconds>" bounds a request
//     (default 30 s).
//   - Rows are JSON objects keyed by field name (rows.go). Keys that are not
//     schema fields go to the dynamic field ($meta) when the collection has
//     one; on output the dynamic field's keys are spread into the row.
//     Int64 values are JSON numbers unless the request says
//     "Accept-Type-Allow-Int64: false", then strings (for JavaScript).
//   - Errors of the REST layer itself use Milvus's 18xx codes: 1801 the
//     body is not JSON of the right shape, 1802 a required parameter is
//     missing, 1804 rows do not fit the schema, 1806 a bad primary key.
//
// Files: server.go (Handler, routing, envelope, errors), collections.go,
// entities.go (insert, upsert, delete, query, get, search), ddl.go
// (indexes, partitions, databases, aliases), rows.go (JSON rows to columns
// and back).
package rest
