# pkjwt: "make test" installs what the tests need (chromium, with apt, only
# when it is missing) and runs go vet and every test with the race detector.
# PKJWT_REQUIRE_BROWSER=1 makes the browser test fail, not skip, without
# chromium.

GO ?= go
CHROMIUM ?= /usr/bin/chromium

.PHONY: test deps vet

test: deps vet
	PKJWT_REQUIRE_BROWSER=1 PKJWT_REQUIRE_OPENSSL=1 $(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

deps:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "chromium is missing: installing it with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
	@if ! command -v openssl >/dev/null 2>&1; then \
		echo "openssl is missing (the PKCS#12 tests run it): installing it with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl; \
	fi
