// Package auth authenticates Milvus API callers and checks their
// privileges, for gRPC (one unary interceptor) and REST (the same check
// over the gRPC request an endpoint stands for), with Milvus 2.6's
// semantics:
//
//   - the gRPC "authorization" metadata is base64("user:password"), as the
//     SDKs send it for a user name and password or a "user:password"
//     token; REST sends "Authorization: Bearer user:password";
//   - the privilege a call needs is the privilege_ext_obj option on its
//     request message in milvus.proto (object type, privilege, the field
//     holding the object name), exactly the table Milvus's
//     PrivilegeInterceptor reads;
//   - root may do everything; users may read and update themselves; the
//     admin role may do everything; every user has the public role.
package auth
