# edgeagent — make help lists the targets.

GO        ?= go
BIN       ?= bin/edgeagent
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
DEMO_DIR  ?= demo-data
DEMO_LISTEN ?= 127.0.0.1:8080
FUZZTIME  ?= 30s
STATICCHECK_VERSION ?= v0.7.0
NFPM_VERSION ?= v2.41.1
DEB_VERSION ?= 0.1.0+git$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
DIST      ?= dist
ARCH      ?= $(shell $(GO) env GOARCH)
# libc6-dev: gcc only recommends the C headers cgo needs. chromium, strace
# and curl are for the tests (pages in a browser, the syncs counted, the
# installed package asked).
SYSTEM_PACKAGES := libusb-1.0-0-dev pkg-config gcc libc6-dev chromium strace curl

export CGO_ENABLED := 1
# SQLite syncs its WAL with fdatasync, not a full fsync: the SQLite bundled
# with go-sqlite3 is built without it unless told. Every build here (run,
# test, bench, deb) takes it from this.
export CGO_CFLAGS := $(or $(CGO_CFLAGS),-O2 -g) -DHAVE_FDATASYNC=1

.PHONY: help deps build run test bench lint fuzz hardware-test clean deb deb-test chaos

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-15s %s\n", $$1, $$2}'

deps: ## install missing system packages (as root), or say what to install
	@command -v dpkg >/dev/null || { echo "not a Debian system: install libusb-1.0 (with its headers), pkg-config, gcc with the C library headers, chromium, strace and curl yourself"; exit 0; }; \
	missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "system packages present:$(foreach p,$(SYSTEM_PACKAGES), $(p))"; \
	elif [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; \
		(apt-get install -y --no-install-recommends $$missing || (apt-get update && apt-get install -y --no-install-recommends $$missing)); \
	else echo "missing system packages:$$missing"; echo "install them with: sudo apt-get install$$missing"; exit 1; fi

build: ## build bin/edgeagent with the version linked in
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/edgeagent

run: deps build ## the demo: the whole line on emulated printers and an emulated cloud, dashboard in the browser
	@mkdir -p $(DEMO_DIR) && chmod 700 $(DEMO_DIR)
	$(BIN) demo --data $(DEMO_DIR) --listen $(DEMO_LISTEN)

test: deps ## run every test with the race detector and compile the hardware tests
	$(GO) vet -tags hardware ./...
	$(GO) test -tags hardware -count=1 -run '^$$' ./hardware-tests/... >/dev/null
	EDGEAGENT_REQUIRE_CHROMIUM=1 $(GO) test -race -count=1 ./...
	@echo "three days offline at full volume (the race detector is too slow for it):"
	@out=$$(mktemp /tmp/edgeagent-offline.XXXXXX); $(GO) test -count=1 -run '^TestThreeDaysOffline$$' -v ./internal/cloudsync/ > $$out 2>&1; rc=$$?; \
		grep -E '^(---|ok|FAIL)|offline_test' $$out; rm -f $$out; exit $$rc
	@echo "every fuzz target, briefly (make fuzz runs them longer):"
	@out=$$(mktemp /tmp/edgeagent-fuzz.XXXXXX); $(MAKE) -s fuzz FUZZTIME=$${TEST_FUZZTIME:-3s} > $$out 2>&1 || { cat $$out; rm -f $$out; exit 1; }; \
		grep -E '^fuzz ' $$out; rm -f $$out
	@echo "the package: install, upgrade and removal in a throwaway root:"
	@if command -v dpkg >/dev/null; then deploy/test-deb.sh; else echo "dpkg is not installed: skipping the package test (make deb-test on Debian)"; fi

bench: ## run the benchmarks and print one table of the figures with their anchors, ratios and goals
	@out=$$(mktemp -d /tmp/edgeagent-bench.XXXXXX); echo "raw output and table in $$out"; uptime; \
		$(GO) test -run '^$$' -bench . -benchmem -benchtime=2s -timeout 30m ./... | tee $$out/bench.txt | grep -E '^(Benchmark|ok|FAIL|goos|cpu)'; \
		echo; awk -f scripts/bench-table.awk $$out/bench.txt | tee $$out/table.md; uptime

chaos: ## the chaos suite: the real binary killed 40 times under cloud, printer and disk faults; prints the report
	@out=$$(mktemp -d /tmp/edgeagent-chaos.XXXXXX); echo "log and report in $$out"; \
		EDGEAGENT_CHAOS_KILLS=$${EDGEAGENT_CHAOS_KILLS:-40} EDGEAGENT_CHAOS_SEED=$${EDGEAGENT_CHAOS_SEED:-} EDGEAGENT_CHAOS_REPORT=$$out/report.txt \
		$(GO) test -count=1 -timeout 10m -run '^TestChaos$$' ./internal/chaos/ > $$out/chaos.log 2>&1; rc=$$?; \
		grep -E '^(--- |ok|FAIL)' $$out/chaos.log; cat $$out/report.txt 2>/dev/null || tail -50 $$out/chaos.log; exit $$rc

deb: ## build the Debian package (nfpm) into $(DIST)/
	$(GO) build -trimpath -ldflags "-X main.version=$(DEB_VERSION)" -o $(BIN) ./cmd/edgeagent
	@mkdir -p $(DIST)
	sed -e 's|$${BINARY}|$(BIN)|' -e 's|$${CONFIG}|deploy/edgeagent.yaml|' deploy/nfpm.yaml > $(DIST)/nfpm.yaml
	VERSION=$(DEB_VERSION) ARCH=$(ARCH) $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION) package -p deb -f $(DIST)/nfpm.yaml -t $(DIST)/

deb-test: ## install, upgrade and remove the package in a throwaway root
	deploy/test-deb.sh

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags hardware ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags hardware ./...

fuzz: ## run every fuzz target for FUZZTIME each (default 30s); a crasher is saved in testdata/fuzz and replays in every go test
	@one=$$(mktemp /tmp/edgeagent-fuzz.XXXXXX); trap 'rm -f $$one' EXIT; \
	for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=./$$(dirname $${file#./}); \
		for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			if ! $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > $$one 2>&1; then \
				if grep -q 'Failing input written to' $$one || ! grep -q 'context deadline exceeded' $$one; then \
					cat $$one; exit 1; fi; \
				echo "  (stopped with 'context deadline exceeded' and no failing input: the Go fuzz coordinator's race golang/go#75804, not a crasher)"; \
			fi; \
			grep -E 'elapsed: .*execs' $$one | tail -1; \
		done; done

hardware-test: ## run the hardware tests against the devices named by EDGEAGENT_HW_* variables
	$(GO) test -tags hardware -count=1 -v ./hardware-tests/...

clean: ## remove build output (keeps demo-data)
	rm -rf bin
