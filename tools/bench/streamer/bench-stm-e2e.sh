#!/bin/sh
# bench-stm-e2e.sh: end-to-end gt-streamer -> local gt-mq, unthrottled (median of RUNS).
#   tools/bench/streamer/bench-stm-e2e.sh BUILD_DIR [FORMAT=wide] [ROWS_K=200] [RUNS=3] [WORKERS=4] [BATCH=500]
# Each run starts a fresh gt-mq (in memory, 127.0.0.1, ephemeral ports), streams the file once
# (gt-streamer exits when every record is confirmed) and reports records/s from the
# streamer's own service.ready -> stream.done timestamps.
set -eu
B=${1:?build dir}; FMT=${2:-wide}; ROWS_K=${3:-200}; RUNS=${4:-3}; WORKERS=${5:-4}; BATCH=${6:-500}
BIN=$B/bin
T=$(mktemp -d /tmp/bench-stm.XXXXXX)
MQPID=
cleanup() { [ -n "$MQPID" ] && kill "$MQPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
SAMPLES=$((ROWS_K * 1000 / 800)) # 100 hosts x 8 GPUs per sample
"$BIN/gt-gen" --format "$FMT" --hosts 100 --gpus 8 --samples "$SAMPLES" --seed 1 --out "$T/in.csv"
cat "$T/in.csv" > /dev/null
ms() { python3 -c "import sys,json,datetime as d;t=json.loads(sys.argv[1])['timestamp'];print(d.datetime.strptime(t,'%Y-%m-%dT%H:%M:%S.%fZ').timestamp())" "$1"; }
RATES=
for i in $(seq 1 "$RUNS"); do
	"$BIN/gt-mq" --port=0 --bind=127.0.0.1 --rpc-url=tcp://127.0.0.1:0 --pub-url= \
		--max-topic-bytes=0 > "$T/mq.log" 2>&1 &
	MQPID=$!
	for _ in $(seq 1 50); do grep -q service.ready "$T/mq.log" && break; sleep 0.1; done
	URL=$(grep -o '"rpc_url":"[^"]*"' "$T/mq.log" | head -1 | cut -d'"' -f4)
	"$BIN/gt-streamer" --csv "$T/in.csv" --mq-url "$URL" --port=-1 --rpc-url= --workers "$WORKERS" \
		--batch "$BATCH" --topic bench > "$T/stm.log"
	READY=$(grep service.ready "$T/stm.log"); DONE=$(grep stream.done "$T/stm.log")
	N=$(echo "$DONE" | grep -o '"published":[0-9]*' | cut -d: -f2)
	S=$(python3 -c "print($(ms "$DONE") - $(ms "$READY"))")
	R=$(python3 -c "print(round($N / $S))")
	echo "run $i: $N records in $S s = $R records/s (workers=$WORKERS batch=$BATCH format=$FMT)"
	RATES="$RATES $R"
	kill "$MQPID"; wait "$MQPID" 2>/dev/null || true; MQPID=
done
echo "median: $(echo $RATES | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') records/s end-to-end"
