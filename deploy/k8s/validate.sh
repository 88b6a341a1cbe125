#!/usr/bin/env bash
# Validates the Kubernetes manifests offline: renders deploy/k8s/base,
# overlays/cpu, overlays/gpu (and overlays/cpu with the ServiceMonitor
# component) with kustomize, validates every object against the Kubernetes
# JSON schemas (strict) and checks what matters for this service
# (deploy/k8s/validate.py says what). No cluster is involved.
#
# Usage: deploy/k8s/validate.sh [K8S_DIR]     (default: this script's folder)
#
# Tools, all installed by scripts/install.sh, project-local:
#   kustomize   $KUSTOMIZE, else .tools/bin/kustomize (pinned, built from the
#               Go module proxy), else a kustomize on PATH
#   Python      $SAM2_DEPLOY_PYTHON, else .venv-deploy/bin/python (with
#               kubernetes-validate and PyYAML, requirements/deploy.txt)
#   nginx       $NGINX, else nginx on PATH: optional, for `nginx -t` of the
#               proxy's configuration
# When a tool is missing this exits 1 saying which, or, under `bazel test`
# (//deploy/k8s:validate_test), prints SKIPPED and exits 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
k8s_dir=${1:-$here}
# The workspace the tools live in: above the real file of this script (under
# `bazel test` this script is a symlink into the source tree).
real=$(readlink -f "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$real")/../.." && pwd)

missing() {
  if [ -n "${TEST_SRCDIR:-}" ]; then
    echo "SKIPPED: $* (scripts/install.sh installs it)"
    exit 0
  fi
  echo "validate.sh: $* (scripts/install.sh installs it)" >&2
  exit 1
}

kustomize=${KUSTOMIZE:-}
if [ -z "$kustomize" ]; then
  if [ -x "$root/.tools/bin/kustomize" ]; then kustomize="$root/.tools/bin/kustomize"
  else kustomize=$(command -v kustomize || true)
  fi
fi
[ -n "$kustomize" ] && [ -x "$kustomize" ] || missing "kustomize not found (looked for \$KUSTOMIZE, $root/.tools/bin/kustomize, PATH)"

python=${SAM2_DEPLOY_PYTHON:-$root/.venv-deploy/bin/python}
[ -x "$python" ] || missing "no Python with kubernetes-validate ($python)"
"$python" -c 'import kubernetes_validate, yaml' 2>/dev/null ||
  missing "$python lacks kubernetes-validate or PyYAML"

nginx=${NGINX:-$(command -v nginx || true)}
version=$("$kustomize" version 2>/dev/null | head -1 || true)
if [ "$kustomize" = "$root/.tools/bin/kustomize" ] && [ -f "$root/.tools/bin/.kustomize-version" ]; then
  version=$(cat "$root/.tools/bin/.kustomize-version")  # go install builds say "(devel)"
fi
echo "kustomize: $kustomize (${version:-unknown version}); python: $python"
exec "$python" "$here/validate.py" --kustomize "$kustomize" ${nginx:+--nginx "$nginx"} "$k8s_dir"
