#!/usr/bin/env bash
# Installs what the tests need, once: system packages (chromium, openssl,
# promtool, npm, gcc) with apt-get where it exists, then the tools built or
# installed into the cache (Azurite from npm, local-kms and ORY Hydra from
# the Go module proxy). Where apt-get does not exist it installs nothing of
# the system's and says in one line per missing program what to install.
#
# Usage: scripts/deps.sh [--no-browser | --find-chrome]
#   --no-browser   skip chromium (make test-short)
#   --find-chrome  only print the path of the browser the tests will use
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

browser=1
case "${1:-}" in
--no-browser) browser=0 ;;
--find-chrome) ;;
"") ;;
*) echo "usage: scripts/deps.sh [--no-browser | --find-chrome]" >&2; exit 2 ;;
esac

# find_chrome prints the first browser found under its usual names.
find_chrome() {
	if [ -n "${CHROME_PATH:-}" ] && [ -x "$CHROME_PATH" ]; then echo "$CHROME_PATH"; return; fi
	for name in chromium chromium-browser google-chrome google-chrome-stable; do
		if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
	done
}

if [ "${1:-}" = "--find-chrome" ]; then
	find_chrome
	exit 0
fi

# The Debian package that provides each program the tests run.
declare -A pkg_of=([openssl]=openssl [promtool]=prometheus [npm]="nodejs npm" [gcc]="gcc libc6-dev")
missing=()
for prog in openssl promtool npm gcc; do
	command -v "$prog" >/dev/null 2>&1 || missing+=("$prog")
done
if [ "$browser" = 1 ] && [ -z "$(find_chrome)" ]; then
	pkg_of[chromium]=chromium
	missing+=(chromium)
fi

if [ "${#missing[@]}" -gt 0 ]; then
	if command -v apt-get >/dev/null 2>&1; then
		pkgs=()
		for prog in "${missing[@]}"; do pkgs+=(${pkg_of[$prog]}); done
		echo "installing with apt-get: ${pkgs[*]} (for ${missing[*]})" >&2
		SUDO=
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	else
		for prog in "${missing[@]}"; do
			case "$prog" in
			chromium) echo "missing: a Chromium or Chrome browser (install chromium, or set CHROME_PATH); 'make test-short' runs everything but the browser test" >&2 ;;
			*) echo "missing: $prog (install it with your package manager: Debian's package is ${pkg_of[$prog]})" >&2 ;;
			esac
		done
		exit 1
	fi
fi

tools=${TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools}

# Azurite (npm) for the jwks/publish tests, in a versioned prefix of its own.
azurite_version=${AZURITE_VERSION:-3.37.0}
azurite_prefix=$tools/azurite-$azurite_version
azurite_pid=
if [ ! -f "$azurite_prefix/.installed" ]; then
	# npm waits on the network while the Go builds below use the CPU.
	echo "installing azurite@$azurite_version into $azurite_prefix" >&2
	mkdir -p "$azurite_prefix"
	(npm install --prefix "$azurite_prefix" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error "azurite@$azurite_version" >&2 &&
		touch "$azurite_prefix/.installed") &
	azurite_pid=$!
fi

# local-kms and ORY Hydra, built once from the Go module proxy (each in a
# module of its own), rebuilt only when their sources or Go change.
GO=${GO:-go} PKJWT_LOCALKMS="$tools/local-kms" bash tools/localkms/build.sh >/dev/null
GO=${GO:-go} PKJWT_HYDRA="$tools/hydra" bash tools/hydra/build.sh >/dev/null

if [ -n "$azurite_pid" ] && ! wait "$azurite_pid"; then
	echo "installing azurite@$azurite_version failed" >&2
	exit 1
fi

if [ "$browser" = 1 ] && [ -z "$(find_chrome)" ]; then
	echo "no browser found after installing chromium" >&2
	exit 1
fi
