#!/usr/bin/env bash
# Builds Open Policy Agent (the peer in bench/admission) into .cache/bin/opa from its Go module.
# Cached: a binary that already reports the pinned version is kept. Never committed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${OPA_VERSION:-v1.22.3}"
out="$root/.cache/bin/opa"
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    PATH="$PATH:/usr/local/go/bin"
  else
    echo "build-opa: 'go' not found on PATH; install Go >= 1.24 to build the OPA peer" >&2
    exit 1
  fi
fi
# (Captured first: grep -q closing the pipe early would fail the pipeline under pipefail.)
if [ -x "$out" ] && [[ "$("$out" version 2>/dev/null)" == *"Version: ${version#v}"$'\n'* ]]; then
  exit 0
fi
mkdir -p "$root/.cache/bin"
echo "build-opa: go install github.com/open-policy-agent/opa@$version -> .cache/bin/opa ($(go version))" >&2
# CGO off, as OPA's static release builds are; GOBIN puts the binary in the project cache.
# The version string is set at link time as OPA's own release build does.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 GOBIN="$tmp" go install \
  -ldflags "-X github.com/open-policy-agent/opa/v1/version.Version=${version#v}" \
  "github.com/open-policy-agent/opa@$version"
mv "$tmp/opa" "$out"
echo "build-opa: ok" >&2
