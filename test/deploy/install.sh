#!/usr/bin/env bash
# deploy.install: `cmake --install` into a DESTDIR, then the INSTALLED binaries, started with the
# installed configs (ports and paths overridden by flags, which win over --config), run the pipeline
# on the installed sample CSV: gt-streamer -> gt-mq -> gt-collector (-> gt-gateway when built).
# Usage: install.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: install.sh BUILD_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gt-install.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done; exit 1; }
root=$work/root prefix=/usr
DESTDIR=$root cmake --install "$build" --prefix "$prefix" >"$work/install.out" || fail "cmake --install"

# --- the tree
for f in bin/gt-mq bin/gt-collector bin/gt-streamer share/gpu-telemetry/examples/sample-wide.csv \
         share/gpu-telemetry/proto/gtpb/v1/rpc.proto share/gpu-telemetry/proto/gtpb/v1/mq.proto \
         share/gpu-telemetry/proto/gtpb/v1/telemetry.proto share/gpu-telemetry/proto/gtpb/v1/collector.proto \
         lib/systemd/system/gt-mq.service lib/systemd/system/gt-collector.service \
         lib/systemd/system/gt-streamer.service; do
  [ -e "$root$prefix/$f" ] || fail "missing $prefix/$f"
done
[ ! -e "$root$prefix/share/gpu-telemetry/proto/gtpb/v1/test.proto" ] || fail "test.proto installed"
services=(mq collector streamer)
if [ -x "$build/bin/gt-gateway" ]; then services+=(gateway); fi
for s in "${services[@]}"; do
  [ -x "$root$prefix/bin/gt-$s" ] || fail "gt-$s not installed"
  [ -f "$root/etc/gpu-telemetry/$s.json" ] || fail "/etc/gpu-telemetry/$s.json missing"
  jq -e . "$root/etc/gpu-telemetry/$s.json" >/dev/null || fail "$s.json is not JSON"
  # the installed config is accepted by the installed binary
  "$root$prefix/bin/gt-$s" --config "$root/etc/gpu-telemetry/$s.json" --print-config >/dev/null ||
    fail "gt-$s rejects its installed config"
  unit=$root$prefix/lib/systemd/system/gt-$s.service
  grep -qx "ExecStart=$prefix/bin/gt-$s --config /etc/gpu-telemetry/$s.json" "$unit" || fail "gt-$s.service ExecStart"
  grep -qx "User=gpu-telemetry" "$unit" || fail "gt-$s.service runs as root"
  grep -qx "NoNewPrivileges=yes" "$unit" || fail "gt-$s.service NoNewPrivileges"
done
if [ -x "$build/bin/gtctl" ]; then
  [ -x "$root$prefix/bin/gtctl" ] || fail "gtctl not installed"
  [ -f "$root$prefix/share/man/man1/gtctl.1" ] || fail "gtctl.1 not installed"
  man -l "$root$prefix/share/man/man1/gtctl.1" >/dev/null 2>&1 || ! command -v man >/dev/null || fail "gtctl.1 does not format"
fi
web_dist=$(sed -n 's/^GT_WEB_DIST:PATH=//p' "$build/CMakeCache.txt")
if [ -n "$web_dist" ] && [ -f "$web_dist/index.html" ]; then
  [ -f "$root$prefix/share/gpu-telemetry/web/index.html" ] || fail "dashboard not installed"
fi
if command -v systemd-analyze >/dev/null; then
  # units checked with their ExecStart pointed into the DESTDIR (verify wants the binary to exist)
  mkdir -p "$work/units"
  for s in "${services[@]}"; do
    sed "s|^ExecStart=$prefix/bin/|ExecStart=$root$prefix/bin/|" "$root$prefix/lib/systemd/system/gt-$s.service" \
      >"$work/units/gt-$s.service"
  done
  systemd-analyze verify --man=no "$work"/units/*.service >"$work/verify.log" 2>&1 || {
    cat "$work/verify.log" >&2; fail "systemd-analyze verify"; }
fi

# --- the installed binaries run the pipeline on the installed sample data (ephemeral loopback ports)
bin=$root$prefix/bin etc=$root/etc/gpu-telemetry ex=$root$prefix/share/gpu-telemetry/examples
ready() { # log file -> prints the service.ready line
  for _ in $(seq 150); do
    l=$(grep -m1 '"service.ready"' "$1" 2>/dev/null || true)
    [ -n "$l" ] && { echo "$l"; return 0; }
    sleep 0.1
  done
  fail "no service.ready in $1"
}
"$bin/gt-mq" --config "$etc/mq.json" --port 0 --bind 127.0.0.1 --rpc-url tcp://127.0.0.1:0 \
  --pub-url tcp://127.0.0.1:0 --persistence-path "$work/mq" >"$work/mq.log" 2>&1 & pids+=($!)
mq_rpc=$(ready "$work/mq.log" | jq -r .rpc_url)
"$bin/gt-collector" --config "$etc/collector.json" --mq-url "$mq_rpc" --data-dir "$work/collector" \
  --api-port 0 --bind 127.0.0.1 --rpc-url tcp://127.0.0.1:0 --pub-url tcp://127.0.0.1:0 \
  >"$work/collector.log" 2>&1 & pids+=($!)
col=$(ready "$work/collector.log")
col_http=$(jq -r .http_port <<<"$col") col_rpc=$(jq -r .rpc_url <<<"$col") col_pub=$(jq -r .pub_url <<<"$col")
rows=$(($(wc -l <"$ex/sample-wide.csv") - 1))
gpus=$(tail -n +2 "$ex/sample-wide.csv" | cut -d, -f4 | sort -u | wc -l)
"$bin/gt-streamer" --config "$etc/streamer.json" --csv "$ex/sample-wide.csv" --loop=false --rate 0 \
  --mq-url "$mq_rpc" --http-port 0 --bind 127.0.0.1 --rpc-url "" >"$work/streamer.log" 2>&1 ||
  fail "installed gt-streamer exited non-zero"
grep -q "\"published\":$rows" "$work/streamer.log" || fail "streamer did not publish $rows rows"
stored=0
for _ in $(seq 100); do
  stored=$(curl -sf "http://127.0.0.1:$col_http/gpus" | jq '[.gpus[].records] | add // 0')
  [ "$stored" = "$rows" ] && break
  sleep 0.1
done
[ "$stored" = "$rows" ] || fail "collector holds $stored records, expected $rows"
n=$(curl -sf "http://127.0.0.1:$col_http/gpus" | jq .count)
[ "$n" = "$gpus" ] || fail "collector lists $n GPUs, expected $gpus"
curl -sf "http://127.0.0.1:$col_http/health" | jq -e '.status == "ok"' >/dev/null || fail "collector /health"

if [[ " ${services[*]} " == *" gateway "* ]]; then
  web=()
  [ -d "$root$prefix/share/gpu-telemetry/web" ] && web=(--web-root "$root$prefix/share/gpu-telemetry/web")
  "$bin/gt-gateway" --config "$etc/gateway.json" --port 0 --bind 127.0.0.1 --collector-url "$col_rpc" \
    --collector-live-url "$col_pub" --mq-url "$mq_rpc" --rpc-url "" "${web[@]}" \
    >"$work/gateway.log" 2>&1 & pids+=($!)
  gw_http=$(ready "$work/gateway.log" | jq -r .http_port)
  code=000
  for _ in $(seq 50); do
    code=$(curl -s -o "$work/gw-health.json" -w '%{http_code}' "http://127.0.0.1:$gw_http/health" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || fail "gateway /health answered $code"
  curl -sf "http://127.0.0.1:$gw_http/metrics" >/dev/null || fail "gateway /metrics"
  if [ ${#web[@]} -gt 0 ]; then
    curl -sf "http://127.0.0.1:$gw_http/" | grep -qi '<html' || fail "gateway does not serve the installed dashboard"
  fi
fi
echo "deploy.install: ${services[*]} installed; $rows records of $gpus GPUs went through the installed binaries"
