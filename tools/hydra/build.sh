#!/usr/bin/env bash
# Builds ORY Hydra v2.3.0 (the module pinned in tools/hydra/go.mod, from the Go
# module proxy) once into $PKJWT_HYDRA, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/hydra (where the interop tests
# look), and prints its path.
# A later run reuses the binary while this module's files and the Go version
# are unchanged (a stamp file beside the binary records their hash).
# Build tags: "sqlite" (Hydra's SQLite driver, cgo: needs gcc) and
# "sqlite_omit_load_extension"; without "sqlite" a sqlite:// DSN fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-go}
bin=${PKJWT_HYDRA:-"${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/hydra"}
out_dir=$(dirname "$bin")
stamp="$bin.stamp"
tags=sqlite,sqlite_omit_load_extension
want=$( { cat "$here/go.mod" "$here/go.sum" "$here/build.sh"; "$GO" version; } | sha256sum | cut -d' ' -f1)
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "$bin"
	exit 0
fi
if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
	echo "Hydra's SQLite driver needs a C compiler (cgo): install gcc" >&2
	exit 1
fi
mkdir -p "$out_dir"
echo "building ORY Hydra into $bin (several minutes the first time)" >&2
start=$(date +%s)
tmp=$(mktemp "$bin.XXXXXX")
trap 'rm -f "$tmp"' EXIT
version=$(cd "$here" && GOWORK=off GOFLAGS=-mod=readonly "$GO" list -m -f '{{.Version}}' github.com/ory/hydra/v2)
(cd "$here" && GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=1 "$GO" build -trimpath -tags "$tags" \
	-ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$version" -o "$tmp" github.com/ory/hydra/v2)
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "$want" > "$stamp"
echo "built ORY Hydra in $(( $(date +%s) - start )) s" >&2
echo "$bin"
