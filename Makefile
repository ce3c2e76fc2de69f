# kmsbox: `make test` is what CI runs (.ci/run); `make bench` measures.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/kmsbox
KES_BIN     ?= bin/kes
KES_VERSION ?= v0.24.0
# The exact build line of the Dockerfile (a test checks they agree).
BUILD        = CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) .

.PHONY: test vet staticcheck unit e2e build bench fuzz clean

test: vet staticcheck unit e2e

vet:
	$(GO) vet ./...

staticcheck:
	$(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 -timeout 12m ./...

build:
	$(BUILD)

# End-to-end: the real binary driven by Debian's aws cli, s3cmd, rclone, restic, curl and headless
# Chromium (.ci/run installs them), the real KES server and CLI (built below) and the vault CLI's
# Go client.
e2e: build $(KES_BIN)
	KMSBOX_BIN=$(abspath $(BIN)) KMSBOX_KES_BIN=$(abspath $(KES_BIN)) $(GO) test -count=1 -timeout 10m -tags e2e ./appliance/e2e/

# The real KES (AGPL, a separate test peer, never linked into kmsbox), built from the Go
# module proxy in a throwaway module: `go install ...@version` fails there on its
# deprecation lookup.
$(KES_BIN):
	@mkdir -p $(dir $(KES_BIN))
	d=$$(mktemp -d) && cd $$d && printf 'module kesbuild\n\ngo 1.26.8\n\nrequire github.com/minio/kes $(KES_VERSION)\n' > go.mod && \
	  GOFLAGS=-mod=mod $(GO) build -o $(abspath $(KES_BIN)) github.com/minio/kes/cmd/kes && rm -rf $$d

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m ./...
	KMSBOX_BIN=$(abspath $(BIN)) $(GO) test -count=1 -tags e2e -run TestStartToReady -v ./appliance/e2e/

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
