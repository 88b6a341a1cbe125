#!/usr/bin/env bash
# //deploy/k8s:validate_test: deploy/k8s/validate.sh must pass on the
# manifests as they are, and must fail, naming the problem, on copies broken
# on purpose (an unknown field, a grace period too short for the drain, a
# probe off the gRPC port, a GPU overlay without a GPU, an HPA metric no
# adapter rule serves, a proxy that lost its 502 answer or names another
# Service): proof that the checks run. Skipped (passing) only when
# kustomize or .venv-deploy is not installed.
set -euo pipefail

cd "${TEST_SRCDIR:?}/${TEST_WORKSPACE:?}"
T="${TEST_TMPDIR:?}"
VALIDATE="$PWD/deploy/k8s/validate.sh"

# A real copy of the manifests (the runfiles are symlinks into the source
# tree, which kustomize would refuse to follow out of a kustomization root).
fresh_copy() {
  rm -rf "$T/k8s"
  cp -RL deploy/k8s "$T/k8s"
  chmod -R u+w "$T/k8s"
}

fresh_copy
"$VALIDATE" "$T/k8s" >"$T/ok.log" 2>&1 && rc=0 || rc=$?
cat "$T/ok.log"
if grep -q '^SKIPPED:' "$T/ok.log"; then
  exit 0
fi
if [ "$rc" -ne 0 ]; then
  echo "FAIL: validate.sh failed on the manifests as they are (exit $rc)" >&2
  exit 1
fi

failures=0
# NAME FILE SED-EXPRESSION EXPECTED-TEXT: breaks FILE (of a fresh copy) with
# sed, expects validate.sh to exit non-zero and print EXPECTED-TEXT.
broken() {
  local name="$1" file="$2" expr="$3" expected="$4"
  fresh_copy
  sed -i -e "$expr" "$T/k8s/$file"
  if cmp -s "deploy/k8s/$file" "$T/k8s/$file"; then
    echo "FAIL: $name: the sed expression changed nothing in $file" >&2
    failures=$((failures + 1)); return
  fi
  local out="$T/$name.log" rc=0
  "$VALIDATE" "$T/k8s" >"$out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "FAIL: $name: validate.sh passed a broken $file" >&2
    failures=$((failures + 1))
  elif ! grep -qF -- "$expected" "$out"; then
    echo "FAIL: $name: validate.sh failed (exit $rc) but did not say '$expected':" >&2
    cat "$out" >&2
    failures=$((failures + 1))
  else
    echo "ok: $name: $(grep -F -m1 -- "$expected" "$out")"
  fi
}

broken unknown-field base/server-statefulset.yaml \
  's/^        readinessProbe:/        readinesProbe:/' \
  "'readinesProbe' was unexpected"
broken wrong-type base/server-hpa.yaml \
  's/^  maxReplicas: 8/  maxReplicas: eight/' \
  "'eight' is not of type 'integer'"
broken grace-too-short base/server-statefulset.yaml \
  's/terminationGracePeriodSeconds: 180/terminationGracePeriodSeconds: 120/' \
  "terminationGracePeriodSeconds 120 < preStop 10 + --drain_delay 60 + --shutdown_grace 90"
broken drain-longer-than-grace base/server-statefulset.yaml \
  's/--drain_delay=60s/--drain_delay=2m/' \
  "must exceed --drain_delay"
broken probe-off-grpc-port base/server-statefulset.yaml \
  '0,/port: 50051/s//port: 9090/' \
  "startupProbe is not a gRPC probe on port 50051"
broken http-probe base/server-statefulset.yaml \
  '/livenessProbe:/,/periodSeconds/{s/grpc:/tcpSocket:/}' \
  "livenessProbe is not a gRPC probe on port 50051"
broken listen-any-without-flag base/server-statefulset.yaml \
  '/^        - --insecure_listen_any$/d' \
  "--address 0.0.0.0:50051 is off the loopback interface without --insecure_listen_any"
broken instance-id base/server-statefulset.yaml \
  's/--instance_id=$(POD_NAME)/--instance_id=sam2/' \
  "--instance_id is not \$(POD_NAME)"
broken gpu-without-gpu overlays/gpu/server-gpu.yaml \
  '/nvidia.com\/gpu: 1/d' \
  "gpu: the gpu overlay does not request nvidia.com/gpu"
broken threads-off-limit base/server-statefulset.yaml \
  's/--intra_op_threads=$(CPU_LIMIT)/--intra_op_threads=8/' \
  "cpu: --intra_op_threads is 8, not the CPU limit 4"
broken memory-too-small overlays/cpu/server-resources.yaml \
  's/memory: 12Gi/memory: 8Gi/g' \
  "memory limit 8Gi < --session_memory_mb 6144"
broken hpa-metric base/server-hpa.yaml \
  's/name: sam2_worker_queue_depth/name: sam2_queue_depth/' \
  "HPA Pods metrics are ['sam2_queue_depth']"
broken adapter-rule prometheus-adapter-rules.yaml \
  's/as: sam2_worker_queue_depth/as: sam2_queue/' \
  "no Prometheus adapter rule serves the HPA's metric sam2_worker_queue_depth"
broken not-draining-dns base/server-services.yaml \
  's/publishNotReadyAddresses: true/publishNotReadyAddresses: false/' \
  "the headless Service must publish not-ready pods"
broken writable-root-fs base/server-statefulset.yaml \
  's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
  "readOnlyRootFilesystem is not true"
broken proxy-502 base/proxy/nginx.conf \
  '0,/error_page 502 = @sam2_replica_gone;/s///' \
  "a grpc_pass location lacks the error_page 502"
broken proxy-service-name base/proxy/cluster.conf \
  's/default sam2-headless;/default sam2-pods;/' \
  "cluster.conf names the headless Service 'sam2-pods', not 'sam2-headless'"
broken proxy-session-regex base/proxy/nginx.conf \
  's/\[0-9a-f\]{32}/[0-9a-f]{16}/' \
  "nginx.conf lacks the session-name map"
broken servicemonitor-port components/servicemonitor/servicemonitor.yaml \
  's/port: http-metrics/port: metrics/' \
  "ServiceMonitor port 'metrics' is on 0 of the selected Services"

if [ "$failures" -ne 0 ]; then
  echo "$failures broken copies were not caught as expected" >&2
  exit 1
fi
echo "validate.sh passed the manifests and caught every broken copy"
