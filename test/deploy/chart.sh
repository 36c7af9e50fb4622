#!/usr/bin/env bash
# deploy.chart: helm lint --strict and helm template of charts/gpu-telemetry with default and
# non-default values (alert rules and a webhook among them), on Kubernetes 1.20 and current; every
# rendering goes through chart-check/check.mjs (schemas, probes, limits, hardening, selectors, the gateway's collector URLs, API versions, and the
# real binaries' --print-config on the rendered args); values.schema.json must reject bad values.
# Env: GT_SOURCE_DIR, GT_TOOLS_DIR (helm and node modules go there), GT_BIN_DIR.
set -euo pipefail
src=${GT_SOURCE_DIR:?} tools=${GT_TOOLS_DIR:?} bin=${GT_BIN_DIR:-}
chart=$src/charts/gpu-telemetry here=$src/test/deploy
helm=$("$src/tools/helm-get" "$tools")
"$here/chart-check/setup" "$tools/chart-check" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/gt-chart.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # name kube-version helm-args... -- check-args...
  local name=$1 kube=$2; shift 2
  local hargs=() cargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do hargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  cargs=("$@")
  "$helm" template rel "$chart" --namespace telemetry --kube-version "$kube" "${hargs[@]}" >"$work/$name.yaml" ||
    fail "helm template ($name)"
  node "$tools/chart-check/check.mjs" "$work/$name.yaml" --kube "$kube" ${bin:+--bin-dir "$bin"} "${cargs[@]}" ||
    fail "rendered objects ($name, Kubernetes $kube)"
}

for kube in 1.20.2 1.33.0; do
  "$helm" lint --strict --kube-version "$kube" "$chart" >"$work/lint" || { cat "$work/lint"; fail "lint $kube"; }
  "$helm" lint --strict --kube-version "$kube" "$chart" -f "$here/values/full.yaml" >"$work/lint" ||
    { cat "$work/lint"; fail "lint full $kube"; }
  check "default-$kube" "$kube" -- --expect StatefulSet=2 --expect Deployment=2 --expect HorizontalPodAutoscaler=1 \
    --expect PodDisruptionBudget=2 --expect Ingress=0 --expect NetworkPolicy=0 --expect Secret=0 --expect ServiceMonitor=0
  check "full-$kube" "$kube" -f "$here/values/full.yaml" -- --expect StatefulSet=2 --expect Deployment=1 \
    --expect DaemonSet=1 --expect Ingress=1 --expect NetworkPolicy=4 --expect Secret=1 --expect ServiceMonitor=4
done
# more shapes: no autoscaling, one collector, token from an existing Secret, inline CSV, streamer off
printf 'timestamp,gpu_id,hostname,uuid,temperature\n2026-01-01T00:00:00Z,0,h,GPU-1,40\n' >"$work/in.csv"
CHECK_EXTERNAL_SECRET=1 check fixed 1.33.0 --set gateway.autoscaling.enabled=false,gateway.replicas=3,collector.replicas=1 \
  --set auth.enabled=true,auth.existingSecret=my-token,auth.existingSecretKey=tok \
  --set streamer.csv.source=inline --set-file streamer.csv.data="$work/in.csv" \
  --set gateway.alerts.webhook.url=http://ignored,gateway.alerts.webhook.existingSecret=hook,gateway.alerts.webhook.existingSecretKey=u \
  -- --expect HorizontalPodAutoscaler=0 --expect Secret=0
grep -q 'name: my-token' "$work/fixed.yaml" || fail "existingSecret not used"
# alerts: rules in the gateway's ConfigMap (its --print-config above accepted the file), the flags,
# the webhook from a Secret as GT_ALERT_WEBHOOK; none of it by default
grep -q '^  alert-rules.json: |' "$work/full-1.33.0.yaml" || fail "alert-rules.json not in the gateway ConfigMap"
grep -q -- '- --alert-rules=/etc/gpu-telemetry/alert-rules.json' "$work/full-1.33.0.yaml" || fail "no --alert-rules"
grep -q -- '- --alert-webhook=http://alertmanager-bridge.monitoring:8080/hook' "$work/full-1.33.0.yaml" || fail "no --alert-webhook"
grep -q -- '- --alert-history=5000' "$work/full-1.33.0.yaml" || fail "no --alert-history"
grep -q 'checksum/alert-rules: ' "$work/full-1.33.0.yaml" || fail "no checksum/alert-rules"
! grep -q -- 'alert-rules\|--alert-webhook' "$work/default-1.33.0.yaml" || fail "alert rules rendered by default"
grep -A3 'name: GT_ALERT_WEBHOOK' "$work/fixed.yaml" | grep -q '{name: hook, key: u}' || fail "webhook Secret not used"
! grep -q -- '--alert-webhook' "$work/fixed.yaml" || fail "--alert-webhook next to the Secret"
# new rules, new pods: the checksum follows the rules
"$helm" template rel "$chart" -f "$here/values/full.yaml" --set 'gateway.alerts.rules[0].threshold=90' >"$work/rules2.yaml"
[ "$(grep 'checksum/alert-rules' "$work/rules2.yaml")" != "$(grep 'checksum/alert-rules' "$work/full-1.33.0.yaml")" ] ||
  fail "checksum/alert-rules did not change with the rules"
# a rules file the gateway rejects fails the check (the op edited past the schema)
if [ -n "$bin" ] && [ -x "$bin/gt-gateway" ]; then
  sed 's/"op": "\\u003e"/"op": "~"/' "$work/full-1.33.0.yaml" >"$work/badrules.yaml"
  ! cmp -s "$work/badrules.yaml" "$work/full-1.33.0.yaml" || fail "could not edit the rendered rules"
  if node "$tools/chart-check/check.mjs" "$work/badrules.yaml" --bin-dir "$bin" >"$work/badrules.out" 2>&1; then
    fail "check.mjs accepted rules gt-gateway rejects"
  fi
  grep -q 'field \\"op\\"\|field "op"' "$work/badrules.out" || { cat "$work/badrules.out"; fail "bad rules: not the gateway's error"; }
fi
grep -q '2026-01-01T00:00:00Z,0,h,GPU-1,40' "$work/fixed.yaml" || fail "inline CSV not in the ConfigMap"
check nostreamer 1.20.2 --set streamer.enabled=false,mq.persistence.enabled=false -- --expect DaemonSet=0 --expect Deployment=1
CHECK_EXTERNAL_CM=1 check cmcsv 1.33.0 --set streamer.csv.source=configMap,streamer.csv.configMap=my-csv,streamer.csv.key=gpu.csv -- --expect ConfigMap=4
# values on the command line reach the binaries: a --config option and the replica count
grep -q '"fsync": "always"' "$work/full-1.33.0.yaml" || fail "mq config not rendered"
[ "$(grep -c -- '--collector-url=' "$work/full-1.33.0.yaml")" = 3 ] || fail "3 collectors, not 3 --collector-url"
# the generated token is kept by lookup on upgrade; on template it is random but present
grep -A16 '^kind: Secret' "$work/full-1.33.0.yaml" | grep -q "token: \"$(printf s3cret-token | base64)\"" || fail "auth.token not in the Secret"

# values.schema.json rejects bad values (each must fail with a schema error)
bad=(
  "mq.config.fsync=sometimes" "collector.replicas=0" "gateway.config.port=1" "mq.config.partitions=65"
  "containerSecurityContext.readOnlyRootFilesystem=false" "containerSecurityContext.allowPrivilegeEscalation=true"
  "podSecurityContext.runAsNonRoot=false" "streamer.kind=StatefulSet" "streamer.csv.source=http"
  "gateway.service.type=ExternalName" "image.pullPolicy=Sometimes" "collector.config.fetch-wait=soon"
  "mq.ports.rpc=70000" "serviceMonitor.interval=often" "gateway.autoscaling.targetCPUUtilizationPercentage=0"
  "collector.config.consumer=x" "streamer.csv.source=hostPath" "mq.persistence.size=lots" "unknownKey=1"
  "gateway.ingress.hosts[0].paths[0].pathType=Any"
  "gateway.alerts.history=0" "gateway.alerts.webhook.url=ftp://x" "gateway.alerts.rules[0].name=x"
  "gateway.alerts.rules[0].name=gpu_stale,gateway.alerts.rules[0].metric=t,gateway.alerts.rules[0].op=>,gateway.alerts.rules[0].threshold=1"
  "gateway.alerts.rules[0].name=a,gateway.alerts.rules[0].metric=t,gateway.alerts.rules[0].op=~,gateway.alerts.rules[0].threshold=1"
  "gateway.alerts.rules[0].name=a,gateway.alerts.rules[0].metric=t,gateway.alerts.rules[0].op=<,gateway.alerts.rules[0].threshold=1,gateway.alerts.rules[0].severity=info"
)
i=0
for b in "${bad[@]}"; do
  i=$((i + 1))
  ( if "$helm" template rel "$chart" --set "$b" >"$work/bad.$i" 2>&1; then echo "schema accepted $b" >"$work/bad.$i.fail"
    elif ! grep -q "schema" "$work/bad.$i"; then echo "$b failed, but not by the schema: $(cat "$work/bad.$i")" >"$work/bad.$i.fail"; fi ) &
  [ $((i % 4)) = 0 ] && wait
done
wait
if ls "$work"/bad.*.fail >/dev/null 2>&1; then cat "$work"/bad.*.fail >&2; fail "values.schema.json"; fi
echo "deploy.chart: lint + 7 renderings checked, ${#bad[@]} bad values rejected"
