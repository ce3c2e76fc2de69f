# kmsbox: `make test` is what CI runs (.ci/run); `make bench` measures.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/kmsbox
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

# End-to-end: the real binary driven by Debian's aws cli, s3cmd, rclone, restic, curl, headless Chromium and the
# vault CLI's Go client; .ci/run installs them.
e2e: build
	KMSBOX_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 10m -tags e2e ./appliance/e2e/

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
