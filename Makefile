SHELL   := /bin/bash
GO      ?= go
BIN     ?= bin/gatehouse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build demo test test-deps bench lint fuzz clean screenshots

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gatehouse

# One command for a newcomer: an embedded store, a demo app behind the
# gateway, and a seeded admin whose one-time password is printed.
demo: build
	./$(BIN) demo

test-deps:
	./scripts/test-deps.sh

# Every suite runs: PostgreSQL and Chromium are started or installed first,
# and a suite that cannot run fails rather than skips.
# The store conformance suite runs first, verbosely, so the log shows it
# passing on SQLite and on PostgreSQL; then everything else.
test: test-deps
	$(GO) vet ./...
	set -o pipefail; $(GO) test -race -count=1 -timeout 10m -v -run '^TestConformance$$' ./internal/store/sqlite ./internal/store/postgres \
		| grep -E '^(\s*--- (PASS|FAIL)|ok |FAIL|panic)'
	$(GO) test -race -count=1 -timeout 15m -skip '^TestConformance$$' ./...
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 -timeout 5m ./...

# Pictures of the main pages (login, account, dashboard, users, user,
# audit, rules), on a desktop and at 375 px, into screenshots/ (not
# committed), taken by headless Chromium through the browser test harness.
# The test sits behind the screenshots build tag, so make test (which has
# its own browser tests of the same pages) never compiles it.
screenshots:
	rm -rf screenshots
	GATEHOUSE_SCREENSHOTS=$(CURDIR)/screenshots $(GO) test -tags screenshots -count=1 -run '^TestScreenshots$$' ./internal/server
	@ls screenshots

bench:
	./scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...

# Short runs of every fuzz target (seed corpora live in testdata/fuzz).
fuzz:
	./scripts/fuzz.sh 30s

clean:
	rm -rf bin gatehouse-data
