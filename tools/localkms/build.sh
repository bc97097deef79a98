#!/usr/bin/env bash
# Builds tools/localkms (local-kms bound to loopback only) once into
# $PKJWT_LOCALKMS, by default ${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/local-kms
# (where the keys/awskms tests look), and prints its path.
# A later run reuses the binary while this module's sources and the Go version
# are unchanged (a stamp file beside the binary records their hash).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-go}
bin=${PKJWT_LOCALKMS:-"${XDG_CACHE_HOME:-$HOME/.cache}/pkjwt-tools/local-kms"}
out_dir=$(dirname "$bin")
stamp="$bin.stamp"
want=$( { cat "$here/go.mod" "$here/go.sum" "$here/main.go"; "$GO" version; } | sha256sum | cut -d' ' -f1)
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$out_dir"
echo "building local-kms into $bin" >&2
tmp=$(mktemp "$bin.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(cd "$here" && GOWORK=off GOFLAGS=-mod=readonly "$GO" build -trimpath -o "$tmp" .)
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "$want" > "$stamp"
echo "$bin"
