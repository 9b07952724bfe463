#!/usr/bin/env bash
# Throughput of `detect serve` against `detect scan` on the same NDJSON file.
#
#   crates/detect-serve/bench/throughput.sh FILE [WORKERS] [RUNS] [-- WORKER OPTIONS...]
#
# Each run has a fresh nats-server (JetStream, partition mapping, temporary
# store, loopback port). Four measures, RUNS times each, median events/s:
# - live: WORKERS workers started and settled (every partition owned), then
#   the file published with `detect serve publish`; timed from the start of
#   the publish until the workers' metrics count every event scanned;
# - backlog: the file published first, then WORKERS workers started; timed
#   from their start (connecting, claiming) until every event is scanned;
# - scan: `detect scan --format jsonl` on the file (same rule options);
# - publish: `detect serve publish` of the file alone, no worker.
# Needs a release build with the feature:
#   cargo build --release -p detect-cli --features serve
set -euo pipefail
FILE=${1:?usage: throughput.sh FILE [WORKERS] [RUNS] [-- WORKER OPTIONS...]}
WORKERS=${2:-1}
RUNS=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
DETECT=${DETECT:-$ROOT/target/release/detect}
NATS=$(command -v nats-server || echo /usr/sbin/nats-server)
PARTITIONS=8
EVENTS=$(grep -c '[^[:space:]]' "$FILE")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
metric_sum() { # NAME PORTS...
    local name=$1 total=0 v; shift
    for port in "$@"; do
        v=$(curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$name" '$1==n {print $2}')
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

live_run() { serve_run live; }
backlog_run() { serve_run backlog; }

serve_run() {
    local mode=$1 dir port pids=() mports=() t0 t1
    dir=$(mktemp -d); port=$(free_port)
    "$DETECT" serve server-config --partitions $PARTITIONS --listen "127.0.0.1:$port" --store-dir "$dir/store" > "$dir/nats.conf"
    "$NATS" -c "$dir/nats.conf" 2> "$dir/nats.log" & local nats=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
    if [ "$mode" = backlog ]; then
        "$DETECT" serve publish --url "nats://127.0.0.1:$port" "$FILE" 2> "$dir/publish.log"
        t0=$(now)
    fi
    for w in $(seq "$WORKERS"); do
        local mp; mp=$(free_port); mports+=("$mp")
        "$DETECT" serve --url "nats://127.0.0.1:$port" --partitions $PARTITIONS --metrics "127.0.0.1:$mp" \
            "${EXTRA[@]}" 2> "$dir/worker$w.log" & pids+=($!)
    done
    if [ "$mode" = live ]; then
        for _ in $(seq 400); do
            [ "$(metric_sum detect_serve_partitions_owned "${mports[@]}" 2>/dev/null)" = "$PARTITIONS" ] && break
            sleep 0.05
        done
        t0=$(now)
        "$DETECT" serve publish --url "nats://127.0.0.1:$port" "$FILE" 2> "$dir/publish.log"
    fi
    for _ in $(seq 6000); do
        [ "$(metric_sum detect_serve_events_total "${mports[@]}" 2>/dev/null)" -ge "$EVENTS" ] && break
        sleep 0.02
    done
    t1=$(now)
    local matches; matches=$(metric_sum detect_serve_matches_total "${mports[@]}")
    kill -TERM "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
    kill "$nats"; wait "$nats" 2>/dev/null || true
    rm -rf "$dir"
    awk -v e="$EVENTS" -v a="$t0" -v b="$t1" -v m="$matches" 'BEGIN {printf "%.0f %.2f %d\n", e/(b-a), b-a, m}'
}

publish_run() {
    local dir port t0 t1
    dir=$(mktemp -d); port=$(free_port)
    "$DETECT" serve server-config --partitions $PARTITIONS --listen "127.0.0.1:$port" --store-dir "$dir/store" > "$dir/nats.conf"
    "$NATS" -c "$dir/nats.conf" 2> "$dir/nats.log" & local nats=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
    t0=$(now); "$DETECT" serve publish --url "nats://127.0.0.1:$port" "$FILE" 2>/dev/null; t1=$(now)
    kill "$nats"; wait "$nats" 2>/dev/null || true
    rm -rf "$dir"
    awk -v e="$EVENTS" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f %.2f\n", e/(b-a), b-a}'
}

scan_run() {
    local t0 t1 pack=()
    # The worker's rule options (--sigma DIR, --pack), for the same rules.
    for ((i = 0; i < ${#EXTRA[@]}; i++)); do
        case "${EXTRA[i]}" in --sigma|--pack|--pipeline) pack+=("${EXTRA[i]}" "${EXTRA[i+1]}");; esac
    done
    t0=$(now); "$DETECT" scan -q --format jsonl "${pack[@]}" "$FILE" > /dev/null; t1=$(now)
    awk -v e="$EVENTS" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f %.2f\n", e/(b-a), b-a}'
}

echo "file: $FILE ($EVENTS events); $WORKERS worker(s), $PARTITIONS partitions; worker options: ${EXTRA[*]:-none}"
for kind in live backlog scan publish; do
    rates=()
    for r in $(seq "$RUNS"); do
        line=$(${kind}_run)
        case $kind in
            live|backlog) echo "  $kind run $r: $line (events/s, seconds, matches stored)";;
            *) echo "  $kind run $r: $line (events/s, seconds)";;
        esac
        rates+=("${line%% *}")
    done
    echo "$kind median: $(printf '%s\n' "${rates[@]}" | median) events/s"
done
