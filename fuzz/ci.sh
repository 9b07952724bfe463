#!/usr/bin/env bash
# Runs every fuzz target for a bounded time from its corpus, two at a time
# (CI has two cores), and fails when any target finds a crash, a panic, a
# timeout or an out-of-memory. Usage: fuzz/ci.sh [seconds per target]
# Expects cargo-fuzz and the corpora (`cargo run -p detect-tests --example
# fuzz_corpus -- fuzz`); see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-45}"
targets=(event_diff matchers sequence parse_json parse_evtx parse_sigma parse_eql correlation)

cargo fuzz build -s none
logs="$(mktemp -d)"
run() {
    local t="$1"
    local extra=()
    [[ -f "dict/$t.dict" ]] && extra+=("-dict=dict/$t.dict")
    [[ "$t" == parse_evtx ]] && extra+=("-max_len=70000")
    mkdir -p "corpus/$t"
    cargo fuzz run -s none "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${extra[@]}" >"$logs/$t.log" 2>&1
}
failed=()
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    pids=()
    for t in "${targets[@]:i:2}"; do
        run "$t" &
        pids+=("$!:$t")
    done
    for p in "${pids[@]}"; do
        if wait "${p%%:*}"; then
            t="${p#*:}"
            line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$t.log" | tail -1 || true)"
            echo "fuzz $t: ok ($line)"
        else
            t="${p#*:}"
            failed+=("$t")
            echo "fuzz $t: FAILED; the end of its log:"
            tail -60 "$logs/$t.log"
        fi
    done
done
if ((${#failed[@]})); then
    echo "fuzz targets that failed: ${failed[*]} (artifacts in fuzz/artifacts/)"
    exit 1
fi
