# pkjwt: "make test" installs what the tests need (chromium, with apt, only
# when it is missing) and runs go vet and every test with the race detector.
# PKJWT_REQUIRE_BROWSER=1 makes the browser test fail, not skip, without
# chromium.

GO ?= go
CHROMIUM ?= /usr/bin/chromium
# Tools the tests run, built or installed once into a cache that later runs reuse.
TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pkjwt-tools
# Azurite (npm), the Azure Storage emulator the jwks/publish tests start;
# its own versioned prefix, so another tool's npm install cannot prune it.
AZURITE_VERSION ?= 3.37.0
AZURITE_PREFIX = $(TOOLS)/azurite-$(AZURITE_VERSION)
AZURITE ?= $(AZURITE_PREFIX)/node_modules/.bin/azurite-blob
# local-kms (an AWS KMS API server), built from the separate Go module
# tools/localkms for the keys/awskms tests; it listens on loopback only.
LOCALKMS ?= $(TOOLS)/local-kms
# ORY Hydra v2.3.0, built from the separate Go module tools/hydra for the
# interop tests (a second, independent authorization server) and the benchmarks.
HYDRA ?= $(TOOLS)/hydra

.PHONY: test deps vet staticcheck deps-azurite deps-localkms localkms deps-hydra hydra

test: deps vet staticcheck
	PKJWT_REQUIRE_BROWSER=1 PKJWT_REQUIRE_OPENSSL=1 PKJWT_REQUIRE_AZURITE=1 PKJWT_AZURITE=$(AZURITE) PKJWT_REQUIRE_LOCALKMS=1 PKJWT_LOCALKMS=$(LOCALKMS) PKJWT_REQUIRE_HYDRA=1 PKJWT_HYDRA=$(HYDRA) PKJWT_REQUIRE_PROMTOOL=1 $(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

# staticcheck, pinned; built from the Go module proxy into Go's build cache
# the first time (about a minute), reused after.
STATICCHECK_VERSION ?= v0.8.2
staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

deps: deps-azurite deps-localkms deps-hydra
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "chromium is missing: installing it with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
	@if ! command -v promtool >/dev/null 2>&1; then \
		echo "promtool is missing (the /metrics tests run 'promtool check metrics'): installing prometheus with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
	fi
	@if ! command -v openssl >/dev/null 2>&1; then \
		echo "openssl is missing (the PKCS#12 tests run it): installing it with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl; \
	fi

# Azurite for the jwks/publish tests, with npm (Node.js and npm from apt when missing).
deps-azurite:
	@if [ ! -f $(AZURITE_PREFIX)/.installed ]; then \
		if ! command -v npm >/dev/null 2>&1; then \
			echo "npm is missing: installing nodejs and npm with apt-get"; \
			SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
		fi; \
		echo "installing azurite@$(AZURITE_VERSION) into $(AZURITE_PREFIX)"; \
		mkdir -p $(AZURITE_PREFIX) && \
		npm install --prefix $(AZURITE_PREFIX) --no-save --no-audit --no-fund --ignore-scripts --loglevel=error azurite@$(AZURITE_VERSION) && \
		touch $(AZURITE_PREFIX)/.installed; \
	fi

# local-kms for the keys/awskms tests: built once (a few minutes the first
# time), rebuilt only when tools/localkms or the Go version changes.
deps-localkms localkms:
	@GO=$(GO) PKJWT_LOCALKMS=$(LOCALKMS) bash tools/localkms/build.sh >/dev/null

# ORY Hydra for the interop tests: built once (cgo SQLite, needs gcc; several
# minutes the first time), rebuilt only when tools/hydra or the Go version changes.
deps-hydra hydra:
	@if ! command -v gcc >/dev/null 2>&1; then \
		echo "gcc is missing (Hydra's SQLite driver is cgo): installing it with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev; \
	fi
	@GO=$(GO) PKJWT_HYDRA=$(HYDRA) bash tools/hydra/build.sh >/dev/null

# The benchmarks of bench/README.md, side by side with their peers (ORY
# Hydra, nginx) in one run, then the table (about 6 minutes when idle).
.PHONY: bench
bench: ; GO=$(GO) PKJWT_HYDRA=$(HYDRA) PKJWT_LOCALKMS=$(LOCALKMS) bash bench/all.sh
