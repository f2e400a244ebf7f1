# Milvago: see README.md.
GO      ?= go
BIN     := bin/milvago
DATA    ?= milvago-data
PKGS    := ./...

.PHONY: build run test test-short lint fuzz bench generate tools verify clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/milvago

# SETCAP=1 gives the binary CAP_SYS_NICE first (setcap, through sudo when
# not root), so that a standalone run by a non-root user may set its
# threads' timer slack while idle: 0.2% of a core instead of 0.6%
# (docs/dispatcher.md, "Timer slack while idle"). A build drops it.
run: build
	@if [ -n "$(SETCAP)" ]; then $$([ "$$(id -u)" -eq 0 ] || echo sudo) setcap cap_sys_nice+ep $(BIN) || exit 1; fi
	./$(BIN) standalone --data-dir $(DATA)

# The whole suite, race detector on (what CI runs), and, in parallel with
# it, tests/e2e once more against a cluster of processes
# (MILVAGO_E2E_CLUSTER=1, docs/cluster.md) and, one after the other
# without -race, 1,100 loaded collections over a restart
# (TestManyLoadedCollections: above the old 1,000-consumer ceiling; about
# 2 minutes) and the 60 MB insert's memory bound (TestMemoryInsert60MB: a
# child server's peak RSS, whose -race shadow memory would swamp it; about
# 3 minutes, mostly waiting); their outputs follow the suite's.
# Before the three start, the race build of every package and one
# milvago binary (MILVAGO_BIN, for tests/cluster and the cluster pass)
# are made once: concurrent go commands share the build cache but not
# work in progress, so the suite and the cluster pass each compiled the
# same packages, and each TestMain built its own milvago.
test:
	@out=$$(mktemp); mem=$$(mktemp); bin=$$(mktemp -d); \
	$(GO) build -race $(PKGS) || exit 1; \
	if [ -z "$$MILVAGO_BIN" ]; then \
		CGO_ENABLED=0 $(GO) build -o $$bin/milvago ./cmd/milvago || exit 1; \
		export MILVAGO_BIN=$$bin/milvago; \
	fi; \
	(MILVAGO_E2E_CLUSTER=1 $(GO) test -race -timeout 28m ./tests/e2e >$$out 2>&1) & cpid=$$!; \
	(MILVAGO_E2E_MANY=1100 MILVAGO_MEASURE_MEMORY=1 $(GO) test -count=1 -timeout 25m -run '^(TestManyLoadedCollections|TestMemoryInsert60MB)$$' -v ./tests/e2e >$$mem 2>&1) & mpid=$$!; \
	$(GO) test -race -timeout 30m $(PKGS); rc=$$?; \
	wait $$cpid; crc=$$?; wait $$mpid; mrc=$$?; \
	echo "== tests/e2e against a cluster (MILVAGO_E2E_CLUSTER=1):"; cat $$out; \
	echo "== 1,100 loaded collections and the 60 MB insert's memory (without -race):"; grep -v '^time=' $$mem; rm -rf $$out $$mem $$bin; \
	[ $$rc -eq 0 ] && [ $$crc -eq 0 ] && [ $$mrc -eq 0 ]
	cd deploy && $(GO) test ./...   # the Helm chart and compose file (deploy/doc.go)

test-short:
	$(GO) test -short $(PKGS)

lint:
	$(GO) vet $(PKGS)
	cd deploy && $(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Internal gRPC code (internal/rpc/pb): protoc 3.21 (apt-get install
# protobuf-compiler) and these pinned plug-ins, installed by `make tools`.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1
tools:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

generate: tools
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) generate $(PKGS)

verify: lint test

clean:
	rm -rf bin
