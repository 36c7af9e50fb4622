#!/usr/bin/env bash
# deploy.deb: CPack builds the .deb from BUILD_DIR; dpkg-deb checks its contents, control fields,
# dependencies (computed by dpkg-shlibdeps from the binaries), conffiles and maintainer scripts.
# Usage: deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: deb.sh BUILD_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gt-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail cpack; }
deb=$(ls "$work"/out/*.deb)
[ "$(echo "$deb" | wc -l)" = 1 ] || fail "expected one .deb, got: $deb"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = gpu-telemetry ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Version)" ] || fail "no Version"
deps=$(field Depends)
for d in adduser libc6 libnng1 libwebsockets17 libprotobuf-c1 libjansson4 libcsv3; do
  grep -Eq "(^|, )$d( |,|$)" <<<"$deps" || fail "Depends lacks $d: $deps"
done
grep -q -- '-dev' <<<"$deps" && fail "Depends names a -dev package: $deps"

dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' >"$work/contents"
has() { grep -q " \./${1#/}\$" "$work/contents" || fail "package lacks $1"; }
services=(mq collector streamer)
[ -x "$build/bin/gt-gateway" ] && services+=(gateway)
for s in "${services[@]}"; do
  has "/usr/bin/gt-$s"; has "/usr/lib/systemd/system/gt-$s.service"; has "/etc/gpu-telemetry/$s.json"
  has "/usr/share/gpu-telemetry/examples/$s.json"
done
if [ -x "$build/bin/gtctl" ]; then has /usr/bin/gtctl; has /usr/share/man/man1/gtctl.1; fi
has /usr/share/gpu-telemetry/proto/gtpb/v1/telemetry.proto
has /usr/share/gpu-telemetry/examples/sample-wide.csv
grep -q ' \./usr/local/' "$work/contents" && fail "files under /usr/local in the package"
grep -Ev '^[d-]' "$work/contents" | grep -v '^l' && fail "unexpected file types"
awk '$2 != "root/root" {print; bad=1} END {exit bad}' "$work/contents" || fail "files not owned by root"
grep -E '^-[^ ]*w[^ ]* ' "$work/contents" | grep -Ev '^-rw-r--r-- |^-rwxr-xr-x ' && fail "writable by group/others"

dpkg-deb -e "$deb" "$work/ctl"
for s in postinst prerm postrm; do
  [ -x "$work/ctl/$s" ] || fail "no executable $s"
  sh -n "$work/ctl/$s" || fail "$s: syntax"
done
grep -q 'adduser --system' "$work/ctl/postinst" || fail "postinst creates no system user"
grep -q 'gpu-telemetry' "$work/ctl/postinst" || fail "postinst: user name"
grep -q 'daemon-reload' "$work/ctl/postinst" || fail "postinst: no daemon-reload"
grep -q 'systemctl stop' "$work/ctl/prerm" || fail "prerm stops nothing"
grep -q 'purge' "$work/ctl/postrm" || fail "postrm ignores purge"
for s in "${services[@]}"; do grep -qx "/etc/gpu-telemetry/$s.json" "$work/ctl/conffiles" || fail "conffiles lacks $s.json"; done

# the units inside the package: unprivileged, config from /etc/gpu-telemetry
dpkg-deb -x "$deb" "$work/x"
for s in "${services[@]}"; do
  u=$work/x/usr/lib/systemd/system/gt-$s.service
  grep -qx "User=gpu-telemetry" "$u" || fail "gt-$s.service: User"
  grep -qx "ExecStart=/usr/bin/gt-$s --config /etc/gpu-telemetry/$s.json" "$u" || fail "gt-$s.service: ExecStart"
  jq -e . "$work/x/etc/gpu-telemetry/$s.json" >/dev/null || fail "$s.json"
done
jq -e '.csv == "/usr/share/gpu-telemetry/examples/sample-wide.csv"' "$work/x/etc/gpu-telemetry/streamer.json" >/dev/null ||
  fail "streamer.json does not point at the packaged sample"
# the container image's runtime stage installs exactly the shared libraries the .deb depends on
src=${GT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
want=$(tr ',' '\n' <<<"$deps" | sed 's/(.*//; s/ //g' | grep -Ev '^(libc6|adduser)$' | sort | tr '\n' ' ')
got=$(sed -n '/^FROM debian:12-slim$/,$p' "$src/tools/container/Dockerfile" | grep -oE '\blib[a-z0-9.+-]+[0-9]\b' | sort -u | tr '\n' ' ')
sanitizer=$(sed -n 's/^GT_SANITIZER:STRING=//p' "$build/CMakeCache.txt")
# (a sanitizer build's binaries also need libasan/libubsan: no image is built from one)
[ "${sanitizer:-none}" != none ] || [ "$want" = "$got" ] || fail "Dockerfile runtime libraries ($got) differ from the .deb's Depends ($want)"
echo "deploy.deb: $(basename "$deb") $(stat -c %s "$deb") bytes; Depends: $deps"
