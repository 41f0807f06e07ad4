#!/usr/bin/env bash
# Builds the `helm` CLI from the Go module helm.sh/helm/v3 into .cache/bin/helm (tests lint, render and
# apply the chart in deploy/helm/tether with it). Cached: a binary of the pinned version is kept.
set -euo pipefail
HELM_VERSION="v3.22.0"
# The Kubernetes version `helm template` and `helm lint` assume (Capabilities.KubeVersion): that of the
# client-go helm $HELM_VERSION is built with (k8s.io/client-go v0.37 = Kubernetes 1.37), as helm's Makefile sets it.
K8S_MINOR="37"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.cache/bin/helm"
stamp="$HELM_VERSION k8s 1.$K8S_MINOR"
if [ -x "$out" ] && [ "$(cat "$out.version" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    PATH="$PATH:/usr/local/go/bin"
  else
    echo "build-helm: 'go' not found on PATH; install Go >= 1.25 to build helm $HELM_VERSION" >&2
    exit 1
  fi
fi
mkdir -p "$root/.cache/bin"
echo "build-helm: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION -> .cache/bin/helm ($(go version))" >&2
# The version helm reports is set at link time, as helm's own Makefile does.
CGO_ENABLED=0 GOBIN="$root/.cache/bin" go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
echo "$stamp" > "$out.version"
echo "build-helm: ok" >&2
