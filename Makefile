# pkjwt: "make test" installs what the tests need and runs go vet,
# staticcheck and every test with the race detector; "make test-short" runs
# everything but the browser test. scripts/deps.sh does the installing:
# chromium, openssl, promtool (Debian's prometheus), npm and gcc with apt-get
# where it exists (elsewhere it says what to install), then Azurite from npm
# and local-kms and ORY Hydra from the Go module proxy, built once into a
# cache that later runs reuse. The PKJWT_REQUIRE_* variables make a test
# whose tool is missing fail instead of skip.

GO ?= go
# Tools the tests run, built or installed once into a cache that later runs reuse.
TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pkjwt-tools
AZURITE_VERSION ?= 3.37.0
AZURITE ?= $(TOOLS)/azurite-$(AZURITE_VERSION)/node_modules/.bin/azurite-blob
LOCALKMS ?= $(TOOLS)/local-kms
HYDRA ?= $(TOOLS)/hydra
STATICCHECK_VERSION ?= v0.8.2

# What every test run gets: the tools' paths, and "fail, do not skip".
TEST_ENV = PKJWT_REQUIRE_OPENSSL=1 PKJWT_REQUIRE_AZURITE=1 PKJWT_AZURITE=$(AZURITE) \
	PKJWT_REQUIRE_LOCALKMS=1 PKJWT_LOCALKMS=$(LOCALKMS) PKJWT_REQUIRE_HYDRA=1 PKJWT_HYDRA=$(HYDRA) \
	PKJWT_REQUIRE_PROMTOOL=1 PKJWT_REQUIRE_MODPROXY=1

.PHONY: test test-short deps deps-short vet staticcheck surface localkms hydra

test: deps vet staticcheck surface
	PKJWT_REQUIRE_BROWSER=1 PKJWT_CHROME="$$(bash scripts/deps.sh --find-chrome)" $(TEST_ENV) \
		$(GO) test -race -count=1 -timeout 20m ./...

# Everything but the browser test, for a machine without chromium.
test-short: deps-short vet staticcheck surface
	$(TEST_ENV) $(GO) test -race -count=1 -timeout 20m -skip 'TestBrowser' ./...

deps:
	@TOOLS=$(TOOLS) AZURITE_VERSION=$(AZURITE_VERSION) GO=$(GO) bash scripts/deps.sh

deps-short:
	@TOOLS=$(TOOLS) AZURITE_VERSION=$(AZURITE_VERSION) GO=$(GO) bash scripts/deps.sh --no-browser

vet:
	$(GO) vet ./...

# staticcheck, pinned; built from the Go module proxy into Go's build cache
# the first time (about a minute), reused after.
staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# The exported names of each public package against its limit (the table,
# then a failure above a limit): tools/surface.
surface:
	$(GO) run ./tools/surface

# local-kms and Hydra alone (make deps builds both).
localkms:
	@GO=$(GO) PKJWT_LOCALKMS=$(LOCALKMS) bash tools/localkms/build.sh
hydra:
	@GO=$(GO) PKJWT_HYDRA=$(HYDRA) bash tools/hydra/build.sh

# The benchmarks of bench/README.md, side by side with their peers (ORY
# Hydra, nginx) in one run, then the table (about 6 minutes when idle).
.PHONY: bench
bench: ; GO=$(GO) PKJWT_HYDRA=$(HYDRA) PKJWT_LOCALKMS=$(LOCALKMS) bash bench/all.sh
