#!/usr/bin/env bash
# deploy.chart_apiserver: the chart against a real kube-apiserver v1.20 (with etcd, on loopback; it
# stores and validates objects but runs no pods, so never --wait): helm install, upgrade (scale the
# collectors, change values, switch features on), uninstall - all must succeed, and the stored objects
# must say what the values said. The API server comes from a start script (GT_K8S_APISERVER_SCRIPT,
# usage: SCRIPT DIR -> prints a kubeconfig path; it writes DIR/*.pid).
# Env: GT_SOURCE_DIR, GT_TOOLS_DIR, GT_BIN_DIR (optional: gt-gateway checks the stored alert rules).
set -euo pipefail
src=${GT_SOURCE_DIR:?} tools=${GT_TOOLS_DIR:?}
start=${GT_K8S_APISERVER_SCRIPT:-$src/../shared/k8s/start-apiserver}
if [ ! -x "$start" ]; then
  echo "FAIL: no kube-apiserver start script at $start (set GT_K8S_APISERVER_SCRIPT to a kube-apiserver v1.20 start script)" >&2
  exit 1
fi
command -v etcd >/dev/null || { echo "FAIL: etcd is not installed (tools/setup-deps installs etcd-server)" >&2; exit 1; }
chart=$src/charts/gpu-telemetry here=$src/test/deploy
helm=$("$src/tools/helm-get" "$tools")
kubectl=$(dirname "$helm")/kubectl
work=$(mktemp -d "${TMPDIR:-/tmp}/gt-kube.XXXXXX")
stop_apiserver() {
  local pids=() p
  for f in "$work"/*.pid; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -f "$work"/*.pid
}
trap 'stop_apiserver; rm -rf "$work"' EXIT
fail() { [ -f "$work/apiserver.log" ] && tail -5 "$work/apiserver.log" >&2; echo "FAIL: $*" >&2; exit 1; }

# Ports picked at random (several of these tests may run on one machine); retried on a clash.
kubeconfig=
for attempt in 1 2 3; do
  ep=$((20000 + RANDOM % 20000)) ap=$((40000 + RANDOM % 20000))
  if kubeconfig=$(ETCD_PORT=$ep API_PORT=$ap "$start" "$work" 2>"$work/start.err"); then break; fi
  kubeconfig=
  stop_apiserver
done
[ -n "$kubeconfig" ] || { cat "$work/start.err" >&2; fail "kube-apiserver did not start"; }
export KUBECONFIG=$kubeconfig HELM_CACHE_HOME=$work/helm-cache HELM_CONFIG_HOME=$work/helm-config HELM_DATA_HOME=$work/helm-data
k() { "$kubectl" "$@"; }
ns=telemetry rel=gt name=gt   # values/full.yaml sets fullnameOverride: gt
echo "kube-apiserver $(k version -o json 2>/dev/null | jq -r .serverVersion.gitVersion) up"

# No ServiceMonitor here: this v1.20.2 API server build crashes serving any custom resource (its
# vendored json-iterator/reflect2 predates the Go runtime it was built with), so the CRD cannot be
# exercised; deploy.chart checks the rendered ServiceMonitors offline.
# ---- install: non-default values, generated token
"$helm" install "$rel" "$chart" -n "$ns" --create-namespace -f "$here/values/full.yaml" --set auth.token= --set serviceMonitor.enabled=false \
  >"$work/install.out" 2>&1 || { cat "$work/install.out"; fail "helm install"; }
grep -q 'Open the dashboard' "$work/install.out" || fail "NOTES.txt not shown"
[ "$(k -n "$ns" get statefulset "$name-collector" -o jsonpath='{.spec.replicas}')" = 3 ] || fail "collector replicas"
k -n "$ns" get statefulset "$name-mq" >/dev/null || fail "mq StatefulSet"
k -n "$ns" get daemonset "$name-streamer" >/dev/null || fail "streamer DaemonSet"
k -n "$ns" get horizontalpodautoscalers.v2beta2.autoscaling "$name-gateway" >/dev/null || fail "HPA (autoscaling/v2beta2)"
k -n "$ns" get poddisruptionbudgets.v1beta1.policy "$name-gateway" >/dev/null || fail "PDB (policy/v1beta1)"
k -n "$ns" get ingress "$name-gateway" >/dev/null || fail "Ingress"
[ "$(k -n "$ns" get networkpolicy -o name | wc -l)" = 4 ] || fail "NetworkPolicies"
token1=$(k -n "$ns" get secret "$name-token" -o jsonpath='{.data.token}' | base64 -d)
[ ${#token1} -ge 32 ] || fail "generated token too short: ${#token1}"
urls=$(k -n "$ns" get deployment "$name-gateway" -o json | jq -r '.spec.template.spec.containers[0].args[]' | grep -c -- '--collector-url=')
[ "$urls" = 3 ] || fail "gateway has $urls collector URLs for 3 replicas"
# the alert rules as stored: the file the gateway would mount, and gt-gateway accepts it
k -n "$ns" get configmap "$name-gateway" -o jsonpath='{.data.alert-rules\.json}' >"$work/alert-rules.json"
[ "$(jq '.rules | length' "$work/alert-rules.json")" = 3 ] || fail "alert-rules.json not stored with 3 rules"
if [ -x "${GT_BIN_DIR:-}/gt-gateway" ]; then
  "$GT_BIN_DIR/gt-gateway" --alert-rules "$work/alert-rules.json" --print-config >/dev/null ||
    fail "gt-gateway rejects the stored alert-rules.json"
fi

# ---- upgrade 1: scale the collectors, change a config value; the generated token stays
"$helm" upgrade "$rel" "$chart" -n "$ns" --reuse-values --set collector.replicas=5 \
  --set gateway.config.cache-ttl=2s >"$work/upgrade1.out" 2>&1 || { cat "$work/upgrade1.out"; fail "helm upgrade (scale)"; }
[ "$(k -n "$ns" get statefulset "$name-collector" -o jsonpath='{.spec.replicas}')" = 5 ] || fail "collectors not scaled to 5"
gw=$(k -n "$ns" get deployment "$name-gateway" -o json)
[ "$(jq -r '.spec.template.spec.containers[0].args[]' <<<"$gw" | grep -c -- '--collector-url=')" = 5 ] || fail "gateway URLs not 5"
jq -r '.spec.template.spec.containers[0].args[]' <<<"$gw" | grep -qx -- "--collector-live-url=tcp://$name-collector-4.$name-collector-headless.$ns.svc.k8s.example:19094" ||
  fail "gateway live URL of replica 4"
k -n "$ns" get configmap "$name-gateway" -o jsonpath='{.data.gateway\.json}' | jq -e '."cache-ttl" == "2s"' >/dev/null ||
  fail "gateway config not updated"
[ "$(k -n "$ns" get secret "$name-token" -o jsonpath='{.data.token}' | base64 -d)" = "$token1" ] || fail "token changed on upgrade"

# ---- upgrade 2: default values (features off, streamer back to a Deployment with the sample CSV);
# a StatefulSet's volumeClaimTemplates are immutable, so the volume settings stay as installed
"$helm" upgrade "$rel" "$chart" -n "$ns" --reset-values --set fullnameOverride=gt --set collector.replicas=2 \
  --set mq.persistence.size=2Gi,mq.persistence.storageClass=fast \
  >"$work/upgrade2.out" 2>&1 || { cat "$work/upgrade2.out"; fail "helm upgrade (defaults)"; }
k -n "$ns" get deployment "$name-streamer" >/dev/null || fail "streamer Deployment after upgrade"
! k -n "$ns" get deployment "$name-gateway" -o json | jq -r '.spec.template.spec.containers[0].args[]' | grep -q -- '--alert-rules' ||
  fail "--alert-rules left after the rules were removed"
! k -n "$ns" get daemonset "$name-streamer" >/dev/null 2>&1 || fail "streamer DaemonSet left behind"
[ "$(k -n "$ns" get networkpolicy -o name | wc -l)" = 0 ] || fail "NetworkPolicies left behind"
k -n "$ns" get configmap "$name-streamer-csv" -o jsonpath='{.data.telemetry\.csv}' >"$work/sample.csv" || fail "sample CSV ConfigMap"
cmp -s "$work/sample.csv" "$chart/files/sample-wide.csv" || fail "sample CSV ConfigMap differs from files/sample-wide.csv"
[ "$("$helm" history "$rel" -n "$ns" -o json | jq length)" = 3 ] || fail "helm history"

# ---- uninstall: nothing of the release remains
"$helm" uninstall "$rel" -n "$ns" >"$work/uninstall.out" 2>&1 || { cat "$work/uninstall.out"; fail "helm uninstall"; }
left=$(k -n "$ns" get all,configmap,secret,pdb,hpa,ingress,networkpolicy,serviceaccount \
  -l app.kubernetes.io/instance="$rel" -o name 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left objects left after uninstall"
[ -z "$("$helm" list -n "$ns" -q)" ] || fail "release still listed"
echo "deploy.chart_apiserver: install (3 collectors) -> upgrade (5, config) -> upgrade (defaults) -> uninstall on a real API server"
