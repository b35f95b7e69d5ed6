# Convenience targets; each wraps plain Go commands, shown as they run.
# "make test" is the README's go test ./...; CI runs bash .ci/run.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
BENCH    ?= CookieAuth|Ed25519
COUNT    ?= 5
FUZZTIME ?= 10s

.PHONY: all test race vet build bench bench-quick bench-report bench-go fuzz ci

all: vet test build

test:
	$(GO) test ./...

race:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

# build writes ./gatehouse (ignored by git), stamped with the version: a
# static binary without cgo, as releases are built (docs/deploy.md).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o gatehouse ./cmd/gatehouse

# bench-go runs the Go benchmarks of docs/benchmark-notes.md; BENCH=.
# runs them all.
bench-go:
	$(GO) test -run '^$$' -bench '$(BENCH)' -count $(COUNT) ./internal/...

# bench runs the whole JWT-versus-sessions suite (bench/cmd/ghbench,
# at most ~15 min on 2 cores): it builds and starts real gatehouse
# servers (SQLite; PostgreSQL and Redis when they answer) and writes
# docs/benchmarks.md and docs/img/*.png. Its wrk rows need Debian's wrk
# (apt-get install wrk); without it the report says they were left out.
# bench-quick is the under-2-minute form CI runs (no wrk); it writes into
# a temporary directory.
bench:
	cd bench && $(GO) run ./cmd/ghbench

# bench-report is the old name of bench.
bench-report: bench

bench-quick:
	cd bench && $(GO) run ./cmd/ghbench -quick -out "$$(mktemp -d)"

# fuzz runs every fuzz target in the module for FUZZTIME each. go test
# fuzzes one target of one package at a time, hence the loop.
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' --exclude-dir=.git '^func Fuzz' .); do \
		dir=$$(dirname "$$f"); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "$(GO) test -run '^$$' -fuzz '^$$t$$' -fuzztime $(FUZZTIME) $$dir"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) "$$dir"; \
		done; \
	done

ci:
	bash .ci/run
