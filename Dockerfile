# Milvago's image: one static binary (no cgo) on an empty base, run as a
# non-root user. Build from the repository root:
#
#   docker build -t milvago:dev .
#
# Cluster roles: docker run milvago:dev run querynode --config /milvago/configs/milvago.yaml
# Standalone:    docker run -p 19530:19530 -p 9091:9091 -v milvago-data:/var/lib/milvago milvago:dev
#
# This file is not built in CI (no Docker engine there); docs/deploy.md says
# what is checked instead.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/milvago ./cmd/milvago
# Directories the final image needs: the data directory owned by the
# runtime user, and a sticky /tmp (the embedded etcd's sockets go there
# when the data directory's path is long).
RUN mkdir -p /out/var/lib/milvago /out/tmp /out/milvago/configs && chmod 1777 /out/tmp

FROM scratch
# CA roots for TLS to S3, etcd or NATS.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/milvago/configs /milvago/configs
COPY --from=build --chown=65532:65532 /out/var/lib/milvago /var/lib/milvago
COPY --from=build /out/milvago /usr/local/bin/milvago
# 65532 is "nonroot" in distroless images; scratch has no passwd file, so
# the numeric ID is what Kubernetes' runAsNonRoot can check.
USER 65532:65532
WORKDIR /var/lib/milvago
# 19530: Milvus API (gRPC and RESTful v2); 9091: /healthz and /metrics.
EXPOSE 19530 9091
ENTRYPOINT ["/usr/local/bin/milvago"]
CMD ["standalone", "--data-dir", "/var/lib/milvago"]
