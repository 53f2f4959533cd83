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
SYSTEM_PACKAGES := libusb-1.0-0-dev pkg-config gcc chromium

export CGO_ENABLED := 1

.PHONY: help deps build run test bench lint fuzz hardware-test clean deb deb-test chaos

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-15s %s\n", $$1, $$2}'

deps: ## install missing system packages (as root), or say what to install
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "system packages present:$(foreach p,$(SYSTEM_PACKAGES), $(p))"; \
	elif [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; \
		(apt-get install -y --no-install-recommends $$missing || (apt-get update && apt-get install -y --no-install-recommends $$missing)); \
	else echo "missing system packages:$$missing"; echo "install them with: sudo apt-get install$$missing"; exit 1; fi

build: ## build bin/edgeagent with the version linked in
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/edgeagent

run: build ## the demo: the whole line on emulated printers and an emulated cloud, dashboard in the browser
	@mkdir -p $(DEMO_DIR) && chmod 700 $(DEMO_DIR)
	$(BIN) demo --data $(DEMO_DIR) --listen $(DEMO_LISTEN)

test: ## run every test with the race detector and compile the hardware tests
	$(GO) vet -tags hardware ./...
	$(GO) test -tags hardware -count=1 -run '^$$' ./hardware-tests/... >/dev/null
	$(GO) test -race -count=1 ./...
	@echo "three days offline at full volume (the race detector is too slow for it):"
	@$(GO) test -count=1 -run '^TestThreeDaysOffline$$' -v ./internal/cloudsync/ > /tmp/edgeagent-offline.txt 2>&1; rc=$$?; \
		grep -E '^(---|ok|FAIL)|offline_test' /tmp/edgeagent-offline.txt; exit $$rc
	@echo "the package: install, upgrade and removal in a throwaway root:"
	@if command -v dpkg >/dev/null; then deploy/test-deb.sh; else echo "dpkg is not installed: skipping the package test (make deb-test on Debian)"; fi

bench: ## run the benchmarks and print the figures
	@$(GO) test -run '^$$' -bench . -benchmem -benchtime=2s ./... | tee /tmp/edgeagent-bench.txt | grep -E '^(Benchmark|ok|FAIL|goos|cpu)'
	@echo
	@echo "GS1 parse throughput (one core):"
	@awk '/^BenchmarkParse\// {for (i=1;i<=NF;i++) if ($$i=="scans/s") printf "  %-28s %12.0f scans/s  %s ns/op  %s allocs/op\n", $$1, $$(i-1), $$3, $$(NF-1)}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Pack label rendering (one core), zpl templates against text/template:"
	@awk '/^BenchmarkRenderPack/ {for (i=1;i<=NF;i++) if ($$i=="labels/s") {printf "  %-36s %12.0f labels/s  %s ns/op  %s allocs/op\n", $$1, $$(i-1), $$3, $$(NF-1); r[$$1 ~ /TextTemplate/] = $$(i-1)}} \
		END {if (r[1] > 0) printf "  zpl renders %.1fx as many labels per second as text/template\n", r[0] / r[1]}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Printer runner, 10,000-label job on the emulator at unlimited speed (render, send, confirm by odometer):"
	@awk '/^BenchmarkJob10k/ {for (i=1;i<=NF;i++) {if ($$i=="ns/label") nl=$$(i-1); if ($$i=="labels/s") ls=$$(i-1)}; printf "  %-36s %10.0f ns/label  %8.0f labels/s  (every serial received once, in order)\n", $$1, nl, ls}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Scanner reads (one core: framing and GS1 decoding; loopback TCP reader: last byte to delivered scan):"
	@awk '/^BenchmarkFrameDecode/ {for (i=1;i<=NF;i++) if ($$i=="scans/s") printf "  %-36s %10.0f scans/s  %s ns/op  %s allocs/op\n", $$1, $$(i-1), $$3, $$(NF-1)} \
		/^BenchmarkScanLatency/ {for (i=1;i<=NF;i++) {if ($$i=="p50-µs") p50=$$(i-1); if ($$i=="p99-µs") p99=$$(i-1)}; printf "  %-36s p50 %s µs  p99 %s µs\n", $$1, p50, p99}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Cloud emulator on loopback, commission calls through the client (as many callers as cores):"
	@awk '/^BenchmarkEmulatorCommission/ {for (i=1;i<=NF;i++) {if ($$i=="req/s") r=$$(i-1); if ($$i=="serials/s") sr=$$(i-1)}; printf "  %-46s %8.0f req/s  %9.0f serials/s\n", $$1, r, sr}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Outbox (32-256 concurrent producers, one fact per durable write, same disk):"
	@awk '/^BenchmarkEnqueue\// {for (i=1;i<=NF;i++) if ($$i=="items/s") {printf "  %-46s %9.0f items/s\n", $$1, $$(i-1); r[$$1 ~ /one-row/] = $$(i-1)}} \
		END {if (r[1] > 0) printf "  group commit enqueues %.1fx as fast as one row per commit\n", r[0] / r[1]}' /tmp/edgeagent-bench.txt
	@awk '/^BenchmarkDrain1M/ {for (i=1;i<=NF;i++) {if ($$i=="s/1M-serials") s=$$(i-1); if ($$i=="peak-RSS-MiB") m=$$(i-1)}; printf "  drain of 1,000,000 queued commissions to the emulator: %s s, agent peak RSS %s MiB\n", s, m}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Stations, scan delivered to verdict committed (4 stations, durable; a case closed every 24 packs):"
	@awk '/^BenchmarkStationVerdicts\/paced/ {for (i=1;i<=NF;i++) {if ($$i=="p50-µs") p50=$$(i-1); if ($$i=="p99-µs") p99=$$(i-1); if ($$i=="commit-p50-µs") c50=$$(i-1); if ($$i=="commit-p99-µs") c99=$$(i-1); if ($$i=="p99-ratio") r=$$(i-1)}; \
		printf "  100 scans/s: verdict p50 %s µs  p99 %s µs;  one-row commit p50 %s µs  p99 %s µs;  p99 %.1fx the commit'"'"'s (goal: p99 <= 2000 µs and <= 3x)\n", p50, p99, c50, c99, r} \
		/^BenchmarkStationVerdicts\/max/ {for (i=1;i<=NF;i++) if ($$i=="scans/s") printf "  most sustained: %.0f scans/s with durable verdicts (goal >= 2,000)\n", $$(i-1)}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Dashboard and agent:"
	@awk '/^BenchmarkOverview/ {for (i=1;i<=NF;i++) if ($$i=="ms/render") printf "  overview with 100,000 serials and 1,000 cases: %.1f ms per render (goal <= 50 ms)\n", $$(i-1)} \
		/^BenchmarkAgentStart/ {for (i=1;i<=NF;i++) {if ($$i=="ms-to-ready") r=$$(i-1); if ($$i=="idle-RSS-MiB") m=$$(i-1)}; printf "  agent start to ready: %s ms (goal <= 300 ms); idle RSS %s MiB (goal <= 40 MB)\n", r, m}' /tmp/edgeagent-bench.txt
	@echo
	@echo "Label preview (draw and PNG-encode):"
	@awk '/^BenchmarkPreviewPack/ {for (i=1;i<=NF;i++) if ($$i=="ms/label") printf "  %-36s %8.2f ms/label at 8 dpmm\n", $$1, $$(i-1)}' /tmp/edgeagent-bench.txt

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

fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; done

hardware-test: ## run the hardware tests against the devices named by EDGEAGENT_HW_* variables
	$(GO) test -tags hardware -count=1 -v ./hardware-tests/...

clean: ## remove build output (keeps demo-data)
	rm -rf bin
