# pkjwt: "make test" installs what the tests need (chromium, with apt, only
# when it is missing) and runs go vet and every test with the race detector.
# PKJWT_REQUIRE_BROWSER=1 makes the browser test fail, not skip, without
# chromium.

GO ?= go
CHROMIUM ?= /usr/bin/chromium

.PHONY: test deps vet

test: deps vet
	PKJWT_REQUIRE_BROWSER=1 $(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

deps:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "chromium is missing: installing it with apt-get"; \
		SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	fi
