# kmsbox: `make test` is what CI runs (.ci/run); `make bench` measures.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/kmsbox
KES_BIN     ?= bin/kes
KES_VERSION ?= v0.24.0
MINIO_BIN   ?= bin/minio
# MinIO at the commit ../shared/spec/minio-kms.md was read from (7aac2a2).
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
WEED_BIN    ?= bin/weed
# SeaweedFS (Apache-2.0), whose openbao KMS provider calls kmsbox's Transit engine.
WEED_VERSION ?= v0.0.0-20261109003541-7506e5f91cd6
# The exact build line of the Dockerfile (a test checks they agree).
BUILD        = CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) .

.PHONY: test vet staticcheck unit e2e build peers bench bench-vs-minio bench-profile fuzz clean crash soak

test: vet staticcheck unit e2e

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./appliance/e2e/

staticcheck:
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags e2e ./appliance/e2e/

unit:
	$(GO) test -race -count=1 -timeout 12m ./...

build:
	$(BUILD)

# End-to-end: the real binary driven by Debian's aws cli, s3cmd, rclone, restic, curl and headless
# Chromium (.ci/run installs them), the real KES server and CLI and the real MinIO server (built
# below), the real SeaweedFS server (built below) and the vault CLI's Go client.
e2e: build peers
	KMSBOX_BIN=$(abspath $(BIN)) KMSBOX_KES_BIN=$(abspath $(KES_BIN)) KMSBOX_MINIO_BIN=$(abspath $(MINIO_BIN)) \
	KMSBOX_WEED_BIN=$(abspath $(WEED_BIN)) $(GO) test -count=1 -timeout 10m -tags e2e ./appliance/e2e/

# The real servers the e2e suite runs beside kmsbox, built side by side: on a fresh machine the
# MinIO and SeaweedFS builds take minutes each, and much of it is waiting on the module proxy.
peers:
	$(MAKE) -j3 $(KES_BIN) $(MINIO_BIN) $(WEED_BIN)

# The full forms of the crash and soak tests that `make e2e` runs short (2 rounds, 20 s):
# SIGKILL during mixed load for 8 rounds, and 10 minutes of load at concurrency 64.
crash: build
	KMSBOX_BIN=$(abspath $(BIN)) KMSBOX_CRASH_ROUNDS=8 $(GO) test -count=1 -timeout 20m -tags e2e -run '^TestCrash$$' -v ./appliance/e2e/

soak: build
	KMSBOX_BIN=$(abspath $(BIN)) KMSBOX_SOAK=10m $(GO) test -count=1 -timeout 20m -tags e2e -run '^TestSoak$$' -v ./appliance/e2e/

# The real KES and MinIO servers (AGPL: separate test peers, never linked into kmsbox) and the
# real SeaweedFS server, built from the Go module proxy in a throwaway module (`go install
# ...@version` fails there on its deprecation lookup). MinIO and SeaweedFS take a few minutes
# the first time.
peer = d=$$(mktemp -d) && cd $$d && printf 'module peer\n\ngo 1.26.8\n\nrequire $(1) $(2)\n' > go.mod && \
	GOFLAGS=-mod=mod $(GO) build -o $(abspath $(3)) $(4) && rm -rf $$d

$(KES_BIN):
	@mkdir -p $(dir $@)
	$(call peer,github.com/minio/kes,$(KES_VERSION),$@,github.com/minio/kes/cmd/kes)

$(MINIO_BIN):
	@mkdir -p $(dir $@)
	$(call peer,github.com/minio/minio,$(MINIO_VERSION),$@,github.com/minio/minio)

$(WEED_BIN):
	@mkdir -p $(dir $@)
	$(call peer,github.com/seaweedfs/seaweedfs,$(WEED_VERSION),$@,github.com/seaweedfs/seaweedfs/weed)

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m ./...
	KMSBOX_BIN=$(abspath $(BIN)) $(GO) test -count=1 -tags e2e -run '^$$' -bench StartToReady -benchtime 10x ./appliance/e2e/

# Side by side with the real MinIO (KMS on kmsbox's KES, auto-encryption on, both over TLS):
# the same load generator against both, interleaved for 3 rounds, one table of MiB/s or ops/s,
# p50, p99 and the ratio (issue 13). About 6 minutes; never part of `make test`. Set
# KMSBOX_BENCH_OUT=file to keep the table, KMSBOX_BENCH_RUN=8s for the time of each run.
bench-vs-minio: build $(MINIO_BIN) $(KES_BIN)
	KMSBOX_BIN=$(abspath $(BIN)) KMSBOX_MINIO_BIN=$(abspath $(MINIO_BIN)) KMSBOX_BENCH_VS_MINIO=1 \
	$(GO) test -count=1 -timeout 30m -tags e2e -run '^TestBenchVsMinIO$$' -v ./appliance/e2e/

# A CPU profile of kmsbox under one workload of bench-vs-minio (KMSBOX_BENCH_WORKLOAD, default
# "PUT 16 MiB c4"), from the server's opt-in KMSBOX_PPROF_ADDR endpoint, into bin/kmsbox.cpu.pprof.
bench-profile: build
	KMSBOX_BIN=$(abspath $(BIN)) KMSBOX_BENCH_PROFILE=$(abspath bin/kmsbox.cpu.pprof) \
	$(GO) test -count=1 -timeout 10m -tags e2e -run '^TestBenchProfileKmsbox$$' -v ./appliance/e2e/
	$(GO) tool pprof -top -nodecount 25 bin/kmsbox.cpu.pprof

# Short fuzzing pass over every fuzz target (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
