// Package contract holds the request and response types that cross a role
// boundary (proxy, coordinators, workers, the channel writer). The
// consumer-side interfaces in those packages name only these types and the
// model package's, so an in-process component and a gRPC client of it are
// interchangeable. It depends on no coordinator or worker package.
package contract
