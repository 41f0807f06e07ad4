#!/usr/bin/env bash
# Builds test/kube-harness (embedded etcd + the real kube-apiserver) into .cache/bin/kube-harness.
# The first build compiles Kubernetes and takes minutes; Go's module and build caches make later ones fast.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    PATH="$PATH:/usr/local/go/bin"
  else
    echo "build-harness: 'go' not found on PATH; install Go >= 1.25 (https://go.dev/dl/) to build the kube-apiserver test harness" >&2
    exit 1
  fi
fi
mkdir -p "$root/.cache/bin"
cd "$root/test/kube-harness"
# The version the apiserver reports (/version) is set at link time, as Kubernetes' own build does;
# without it kubectl sees v0.0.0-master and some version-dispatching kubectl wrappers fail.
k8s="$(go list -mod=readonly -m -f '{{.Version}}' k8s.io/kubernetes)"
minor="$(echo "$k8s" | cut -d. -f2)"
ldflags=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=$k8s -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
echo "build-harness: go build kube-apiserver $k8s -> .cache/bin/kube-harness ($(go version))" >&2
# CGO off: no C toolchain needed, and kube-apiserver is released that way too.
# -mod=readonly: go.mod and go.sum are committed and must be complete.
CGO_ENABLED=0 go build -mod=readonly -ldflags "$ldflags" -o "$root/.cache/bin/kube-harness" .
echo "build-harness: ok" >&2
