// Package deploy checks the deployment files offline: the Helm chart in
// helm/milvago (rendered by `helm template`, every object decoded strictly
// into the Kubernetes API type it claims to be, then cross-checked) and the
// compose file in compose (loaded and schema-validated by compose-go, the
// compose specification's reference loader), and the repository's
// Dockerfile (read, not built: no Docker engine runs in CI). It is its own module so that
// the server's module does not depend on Kubernetes. `make test` runs it.
package deploy
